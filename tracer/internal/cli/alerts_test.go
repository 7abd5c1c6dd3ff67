package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/metrics"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/session"
)

// scenarioEvents is tracer/internal/detect's real recording of container work and
// the hostile patterns.
func scenarioEvents(t testing.TB) []event.Event {
	t.Helper()
	f, err := os.Open("../../../tracer/internal/detect/testdata/scenario.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []event.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev event.Event
		if err := ev.UnmarshalJSON(sc.Bytes()); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// alertSession records tracer/internal/detect's real recording of container work
// and the hostile patterns, with the host's namespaces as its inventory.
func alertSession(t *testing.T) string {
	t.Helper()
	evs := scenarioEvents(t)
	inv := &inventory.Inventory{}
	for i, ty := range []event.NsType{event.Mnt, event.Net, event.Time, event.Cgroup, event.Pid, event.User, event.UTS, event.IPC} {
		inv.Namespaces = append(inv.Namespaces, inventory.Namespace{Type: ty, Inode: 4026531832 + uint32(i), Host: true})
	}
	h := session.Header{Host: "elsewhere", Kernel: "6.18.0"}
	if err := h.SetInventory(inv); err != nil {
		t.Fatal(err)
	}
	return writeSession(t, "scenario.jsonl", session.Options{Header: h}, evs)
}

type record struct {
	Event    string          `json:"event"`
	Rule     string          `json:"rule"`
	Severity string          `json:"severity"`
	Pid      uint32          `json:"pid"`
	Trigger  json.RawMessage `json:"trigger"`
	Count    uint64          `json:"count"` // a window's closing alert
}

func records(t *testing.T, out string) []record {
	t.Helper()
	var rs []record
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		rs = append(rs, r)
	}
	return rs
}

// Replay applies the built-in rules: each alert comes right after the event
// that raised it, and is that event. The repeats of a rule in one
// container are folded: the alerts closing their windows (a count) come at
// the end, the recording being shorter than a window.
func TestReplayShowsAlertsRightAfterTheirTrigger(t *testing.T) {
	path := alertSession(t)
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rs := records(t, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rules []string
	for i, r := range rs {
		if r.Event != "alert" {
			continue
		}
		rules = append(rules, r.Rule+"/"+r.Severity+strings.Repeat("+", int(r.Count)))
		if r.Count != 0 {
			continue
		}
		j := i - 1
		for j >= 0 && rs[j].Event == "alert" {
			j--
		}
		if j < 0 || !sameJSON(t, lines[j], string(r.Trigger)) {
			t.Errorf("alert %s (pid %d) does not follow its trigger %s", r.Rule, r.Pid, r.Trigger)
		}
	}
	want := []string{"cross-container-join/warning", "host-namespace-entry/critical", "unprivileged-userns/warning",
		"denied-namespace-change/notice", "unprivileged-userns/warning++", "denied-namespace-change/notice+++"}
	if strings.Join(rules, " ") != strings.Join(want, " ") {
		t.Errorf("alerts %v\nwant   %v", rules, want)
	}
	if !strings.Contains(stderr, "nstrace: 6 alerts (1 critical, 3 warning, 2 notice)") {
		t.Errorf("stderr lacks the alert count:\n%s", stderr)
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		t.Fatalf("not JSON: %s / %s", a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestAlertsOnlyAndRuleFiles(t *testing.T) {
	path := alertSession(t)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(`
builtin:
  denied-namespace-change: false
  cross-container-join:
    severity: critical
rules:
  - name: nsenter-setns
    severity: info
    message: nsenter joined a namespace
    match: comm == "nsenter" && event == "setns" && changes.exists(c, c.type == "mnt")
`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - name: x\n    match: foo == 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	count := func(args ...string) map[string]int {
		t.Helper()
		out, stderr, code := nstrace(t, nil, append([]string{"replay", "-o", "json", path}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		n := map[string]int{}
		for _, r := range records(t, out) {
			n[r.Event+"/"+r.Rule+"/"+r.Severity]++
		}
		return n
	}
	only := count("--alerts-only")
	if len(only) != 4 || only["alert/denied-namespace-change/notice"] != 2 {
		t.Errorf("--alerts-only printed %v", only)
	}
	tuned := count("--alerts-only", "--rules", rules)
	if tuned["alert/denied-namespace-change/notice"] != 0 || tuned["alert/cross-container-join/critical"] != 1 ||
		tuned["alert/nsenter-setns/info"] != 2 || tuned["alert/host-namespace-entry/critical"] != 1 {
		t.Errorf("--rules printed %v", tuned)
	}
	if n := count("--no-alerts"); n["alert//"] != 0 && len(n) != 5 {
		t.Errorf("--no-alerts printed %v", n)
	}
	// A filter keeps alerts whose trigger it keeps, and counts only those.
	if n := count("--alerts-only", "--comm", "unshare"); len(n) != 2 {
		t.Errorf("--comm unshare kept %v", n)
	}
	if _, stderr, _ := nstrace(t, nil, "replay", path, "--comm", "ip"); strings.Contains(stderr, "alerts") {
		t.Errorf("alerts counted for events filtered out:\n%s", stderr)
	}

	_, stderr, code := nstrace(t, nil, "replay", path, "--rules", bad)
	if code != 2 || stderr != "nstrace: bad.yaml:3: rule \"x\": match: undeclared reference to 'foo'\n" {
		t.Errorf("bad rules: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := nstrace(t, nil, "replay", path, "--rules", rules, "--no-alerts"); code != 2 {
		t.Errorf("--rules with --no-alerts: exit %d, %s", code, stderr)
	}
	text, _, _ := nstrace(t, nil, "replay", path, "--alerts-only")
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6}  ALERT critical host-namespace-entry: "nsenter" \(pid 5822\), inside ctr fixA's ipc\+mnt\+pid\+uts namespaces, joined the host's net namespace$`).MatchString(text) {
		t.Errorf("text alerts:\n%s", text)
	}
	if strings.Contains(text, "\x1b") {
		t.Errorf("colour on a pipe:\n%q", text)
	}
}

func TestMetricsFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--metrics", "0.0.0.0:9464"},
		{"--metrics", ":9464"},
		{"--metrics-public"},
	} {
		_, stderr, code := nstrace(t, nil, append([]string{"trace"}, args...)...)
		if code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("trace %v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// A live trace serves its metrics, and the counters move with events.
func TestLiveMetricsMove(t *testing.T) {
	tr := startTracing(t, "-o", "json", "--alerts-only", "--metrics", "127.0.0.1:0")
	line, _ := tr.stderr.ReadString('\n')
	m := regexp.MustCompile(`^nstrace: metrics at (http://127\.0\.0\.1:\d+/metrics)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("stderr %q", line)
	}
	scrape := func(series string) float64 {
		t.Helper()
		resp, err := http.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		v := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
		if v == nil {
			return 0
		}
		f, _ := strconv.ParseFloat(string(v[1]), 64)
		return f
	}
	changes := `nstrace_namespace_changes_total{action="create",event="unshare",type="uts"}`
	before := scrape(changes)
	for range 3 {
		if err := exec.Command("unshare", "-u", "true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); scrape(changes) < before+3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if got := scrape(changes); got < before+3 {
		t.Errorf("%s went from %v to %v after three unshares", changes, before, got)
	}
	if scrape(`nstrace_namespaces{type="net"}`) < 1 || scrape(`nstrace_lost_events_total{cause="ring_full"}`) != 0 {
		t.Error("namespace or loss gauges missing")
	}
	// An alert reaches stdout at once, even with no event shown to flush it.
	alerts := `nstrace_alerts_total{rule="denied-namespace-change",severity="notice"}`
	before = scrape(alerts)
	denied := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "unshare", "-n", "true")
	if denied.Run() == nil {
		t.Fatal("nobody could unshare a network namespace")
	}
	// Other tests may raise alerts meanwhile: wait for ours, by its pid.
	mine := `"pid":` + strconv.Itoa(denied.Process.Pid) + `,`
	got := make(chan string, 1)
	go func() {
		for {
			l, err := tr.stdout.ReadString('\n')
			if err != nil || strings.Contains(l, `"rule":"denied-namespace-change"`) && strings.Contains(l, mine) {
				got <- l
				return
			}
		}
	}()
	select {
	case line := <-got:
		if line == "" {
			t.Error("stdout ended without the denied-namespace-change alert")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no alert on stdout within 5s")
	}
	if got := scrape(alerts); got < before+1 {
		t.Errorf("%s went from %v to %v", alerts, before, got)
	}
	if code, _ := tr.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// BenchmarkPipelineWithDetection: the built-in rules and the metrics add no
// allocation to events that raise nothing (the ordinary part of the
// recording: ip netns, unshare, runc run/exec, nsenter from the host).
func BenchmarkPipelineWithDetection(b *testing.B) {
	var evs []event.Event
	for _, ev := range scenarioEvents(b) {
		if ev.Pid < 5818 { // before the hostile part
			evs = append(evs, ev)
		}
	}
	out, _ := newOutput("json", io.Discard)
	p := pipeline.New(pipeline.Options{Detector: detect.New(detect.DefaultRules()), Sinks: []pipeline.Sink{out}, Observer: metrics.New()})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev := &evs[i%len(evs)]
		if err := p.Event(ev); err != nil {
			b.Fatal(err)
		}
		if p.Counts().Alerts != 0 {
			b.Fatalf("alert on %+v", ev)
		}
	}
}
