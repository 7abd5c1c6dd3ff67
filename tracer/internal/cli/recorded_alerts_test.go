package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/session"
)

// recordedAlertSession is tracer/internal/detect's scenario recorded with detection
// on, holding alerts of its own that the built-in rules would never raise:
// one after event 4 (an unshare by "unshare") and one after event 7 (a
// setns by "ip").
func recordedAlertSession(t *testing.T) (string, []detect.Alert) {
	t.Helper()
	evs := scenarioEvents(t)
	h := session.Header{Host: "elsewhere", Kernel: "6.18.0",
		Detection: &session.Detection{Rules: []string{"recorded-rule", "other\x1b[2Jrule"}}}
	alerts := []detect.Alert{
		{Time: evs[4].Time, Rule: "recorded-rule", Severity: detect.Warning, Message: "as raised live",
			Pid: evs[4].Pid, Tid: evs[4].Tid, Comm: evs[4].Comm, Created: []event.NsType{event.Net}, Trigger: evs[4].Clone()},
		{Time: evs[7].Time, Rule: "recorded-rule", Severity: detect.Critical, Message: "joined \x1b[31mred",
			Pid: evs[7].Pid, Tid: evs[7].Tid, Comm: evs[7].Comm, Suppressed: 3,
			Container: &event.Container{ID: "abc", Runtime: "runc"}, Trigger: evs[7].Clone()},
	}
	path := filepath.Join(t.TempDir(), "recorded.jsonl")
	w, err := session.Create(path, session.Options{Header: h})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
		switch i {
		case 4:
			if err := w.WriteAlert(&alerts[0]); err != nil {
				t.Fatal(err)
			}
		case 7:
			if err := w.WriteAlert(&alerts[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, alerts
}

// alertLines returns the alert lines of replay -o json output, each with
// the line before it.
func alertLines(out string) (alerts, before []string) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, l := range lines {
		if strings.Contains(l, `"event":"alert"`) && i > 0 {
			alerts = append(alerts, l)
			before = append(before, lines[i-1])
		}
	}
	return alerts, before
}

// A recording made with detection on replays with exactly the alerts it
// holds, each right after its trigger; asking for rules replaces them.
func TestReplayShowsTheRecordedAlerts(t *testing.T) {
	path, alerts := recordedAlertSession(t)
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, before := alertLines(out)
	if len(got) != 2 || got[0] != string(alerts[0].AppendJSON(nil)) || got[1] != string(alerts[1].AppendJSON(nil)) {
		t.Fatalf("alerts replayed:\n%s\nwant\n%s\n%s", strings.Join(got, "\n"), alerts[0].AppendJSON(nil), alerts[1].AppendJSON(nil))
	}
	for i, b := range before {
		var ev event.Event
		if err := ev.UnmarshalJSON([]byte(b)); err != nil || ev.Pid != alerts[i].Pid || !ev.Time.Equal(alerts[i].Time) {
			t.Errorf("alert %d follows %s, not its trigger", i, b)
		}
	}
	if !strings.Contains(stderr, "nstrace: alerts as recorded by rules recorded-rule, other\\x1b[2Jrule (--rerun-rules to run them again)\n") ||
		!strings.Contains(stderr, "nstrace: 2 alerts (1 critical, 1 warning)\n") {
		t.Errorf("stderr:\n%s", stderr)
	}

	text, _, _ := nstrace(t, nil, "replay", "--alerts-only", path)
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6}  ALERT critical recorded-rule: joined \\x1b\[31mred \(3 similar left out\)$`).MatchString(text) {
		t.Errorf("text alerts:\n%q", text)
	}

	// The filter keeps the alerts whose trigger it keeps.
	out, _, _ = nstrace(t, nil, "replay", "-o", "json", "--comm", "unshare", path)
	if got, _ := alertLines(out); len(got) != 1 || got[0] != string(alerts[0].AppendJSON(nil)) {
		t.Errorf("--comm unshare kept alerts %v", got)
	}

	rules := func(args ...string) []string {
		t.Helper()
		out, stderr, code := nstrace(t, nil, append([]string{"replay", "-o", "json", "--alerts-only", path}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var names []string
		for _, r := range records(t, out) {
			names = append(names, r.Rule)
		}
		return names
	}
	builtin := "cross-container-join host-namespace-entry unprivileged-userns denied-namespace-change unprivileged-userns denied-namespace-change"
	if got := strings.Join(rules("--rerun-rules"), " "); got != builtin {
		t.Errorf("--rerun-rules raised %s\nwant %s", got, builtin)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte("builtin:\n  denied-namespace-change: false\n  unprivileged-userns: false\n  cross-container-join: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rules("--rules", file), " "); got != "host-namespace-entry" {
		t.Errorf("--rules raised %s", got)
	}
	if out, stderr, code := nstrace(t, nil, "replay", "-o", "json", "--no-alerts", path); code != 0 || strings.Contains(out, `"alert"`) {
		t.Errorf("--no-alerts: exit %d, %s\n%s", code, stderr, out)
	}
	if _, stderr, code := nstrace(t, nil, "replay", "--no-alerts", "--rerun-rules", path); code != 2 ||
		stderr != "nstrace: --no-alerts contradicts --rules and --rerun-rules\n" {
		t.Errorf("--no-alerts --rerun-rules: exit %d, %q", code, stderr)
	}
}

// A recording from before alerts were recorded (no detection in its
// header) still gets its alerts from the rules.
func TestAnOlderRecordingGetsAlertsFromTheRules(t *testing.T) {
	path := alertSession(t)
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", "--alerts-only", path)
	if code != 0 || strings.Count(out, "\n") != 6 || strings.Contains(stderr, "as recorded") {
		t.Errorf("exit %d, %d alerts:\n%s\n%s", code, strings.Count(out, "\n"), out, stderr)
	}
}

// report shows the recorded alerts too, or the rules' when asked.
func TestReportShowsTheRecordedAlerts(t *testing.T) {
	path, _ := recordedAlertSession(t)
	alertsIn := func(args ...string) (int, []string) {
		t.Helper()
		page := filepath.Join(t.TempDir(), "r.html")
		_, stderr, code := nstrace(t, nil, append([]string{"report", "-w", page, path}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		m := regexp.MustCompile(`, (\d+) alerts \(`).FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("stderr: %s", stderr)
		}
		html, _ := os.ReadFile(page)
		var rules []string
		for _, r := range []string{"recorded-rule", "host-namespace-entry"} {
			if strings.Contains(string(html), r) {
				rules = append(rules, r)
			}
		}
		var n int
		if err := json.Unmarshal([]byte(m[1]), &n); err != nil {
			t.Fatal(err)
		}
		return n, rules
	}
	if n, rules := alertsIn(); n != 2 || strings.Join(rules, ",") != "recorded-rule" {
		t.Errorf("report: %d alerts, rules named %v", n, rules)
	}
	if n, _ := alertsIn("--comm", "ip"); n != 1 {
		t.Errorf("report --comm ip: %d alerts, want the one whose trigger it keeps", n)
	}
	if n, rules := alertsIn("--rerun-rules"); n != 6 || strings.Join(rules, ",") != "host-namespace-entry" {
		t.Errorf("report --rerun-rules: %d alerts, rules named %v", n, rules)
	}
}

// A record kind this nstrace does not know (a newer one's) is skipped with
// one warning; every event still replays.
func TestReplaySkipsUnknownRecordKinds(t *testing.T) {
	path := makeSession(t, "s.jsonl", replayEventsFixture())
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	seal := `{"event":"watermark","time":"2026-11-29T03:38:19Z","hash":"00ff"}` + "\n"
	mixed := lines[0] + seal + lines[1] + seal + strings.Join(lines[2:], "")
	if err := os.WriteFile(path, []byte(mixed), 0o600); err != nil {
		t.Fatal(err)
	}
	want, _, _ := nstrace(t, nil, "replay", "-o", "json", "--no-alerts", makeSession(t, "plain.jsonl", replayEventsFixture()))
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", "--no-alerts", path)
	if code != 0 || out != want {
		t.Errorf("exit %d:\n%s\nwant\n%s", code, out, want)
	}
	if w := strings.Count(stderr, "warning"); w != 1 || !strings.Contains(stderr,
		`nstrace: replay `+path+`: line 2 (byte `+strconv.Itoa(len(lines[0]))+`): warning: records of kind "watermark" skipped: not known to this nstrace (written by a newer one?)`) {
		t.Errorf("stderr:\n%s", stderr)
	}
}
