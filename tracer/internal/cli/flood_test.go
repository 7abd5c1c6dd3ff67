package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// Kernel tests of fairness under floods, through the whole pipeline (the
// resolver and the rules make the consumer far slower than the kernel).

const floodFor = 2 * time.Second

// floodRecord is the union of the JSON records the flood tests read.
type floodRecord struct {
	Event    string `json:"event"`
	Pid      uint32 `json:"pid"`
	Comm     string `json:"comm"`
	UID      uint32 `json:"uid"`
	Kind     string `json:"kind"`
	Count    uint64 `json:"count"`
	CgroupID uint64 `json:"cgroup_id"`
	Error    string `json:"error"`
	Rule     string `json:"rule"`
	Message  string `json:"message"`
	Severity string `json:"severity"`
	Changes  []struct {
		Type   string `json:"type"`
		Action string `json:"action"`
		To     uint32 `json:"to"`
		Host   bool   `json:"host"`
	} `json:"changes"`
}

type flooderRun struct {
	cmd  *exec.Cmd
	out  strings.Builder
	err  error
	done chan struct{}
}

func runFlooder(t *testing.T, cmd *exec.Cmd) *flooderRun {
	t.Helper()
	f := &flooderRun{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &f.out, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start flooder: %v", err)
	}
	go func() { f.err = cmd.Wait(); close(f.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-f.done }) // it may have exited already
	return f
}

// report waits for the flooder and returns its calls and pid.
func (f *flooderRun) report(t *testing.T) (pid int, calls uint64, joined bool) {
	t.Helper()
	<-f.done
	var r struct {
		Pid    int    `json:"pid"`
		Calls  uint64 `json:"calls"`
		Failed uint64 `json:"failed"`
		Joined bool   `json:"joined"`
	}
	if f.err != nil || json.Unmarshal([]byte(f.out.String()), &r) != nil || r.Failed != 0 {
		t.Fatalf("flooder: %v: %q", f.err, f.out.String())
	}
	return r.Pid, r.Calls, r.Joined
}

// rootUnshares runs `unshare -u true` as root, at a person's pace, until
// every flooder exits, and returns the pids that ran.
func rootUnshares(t *testing.T, floods ...*flooderRun) []uint32 {
	t.Helper()
	var pids []uint32
	for _, f := range floods {
		for {
			select {
			case <-f.done:
			default:
				cmd := exec.Command("unshare", "-u", "true")
				if err := cmd.Run(); err != nil {
					t.Fatalf("unshare -u true: %v", err)
				}
				pids = append(pids, uint32(cmd.Process.Pid))
				time.Sleep(20 * time.Millisecond)
				continue
			}
			break
		}
	}
	if len(pids) < 10 {
		t.Fatalf("root ran %d unshares during the flood, want at least 10", len(pids))
	}
	return pids
}

func parseFloodOutput(t *testing.T, out string) []floodRecord {
	t.Helper()
	var rs []floodRecord
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r floodRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		rs = append(rs, r)
	}
	return rs
}

// checkRoot asserts each of root's unshares arrived exactly once.
func checkRoot(t *testing.T, rs []floodRecord, pids []uint32) {
	t.Helper()
	n := map[uint32]int{}
	for _, r := range rs {
		if r.Event == "unshare" && r.UID == 0 && r.Comm == "unshare" {
			n[r.Pid]++
		}
	}
	got := 0
	for _, pid := range pids {
		if n[pid] == 1 {
			got++
		}
	}
	if got != len(pids) {
		t.Errorf("root's events: %d of %d delivered", got, len(pids))
	}
}

// account sums a flooder's delivered uts unshares and flood counts, by
// its comm (each test's flooder has its own), and its flood alerts.
func account(rs []floodRecord, pids map[uint32]bool, uid uint32, comm string) (delivered, counted, lost uint64, alerts int) {
	for _, r := range rs {
		switch {
		case r.Event == "unshare" && pids[r.Pid] && r.Comm == comm:
			delivered++
		case r.Event == "flood" && r.UID == uid && r.Comm == comm && r.Kind == "unshare":
			counted += r.Count
		case r.Event == "lost":
			lost += r.Count
		case r.Event == "alert" && r.Rule == "flood" && r.Severity == "warning" && strings.Contains(r.Message, `("`+comm+`")`):
			alerts++
		}
	}
	return
}

// Two unprivileged flooders, one per CPU, against root at a person's pace:
// every one of root's events is shown, the flood is shown as flood records
// that account for each of the flooders' calls, and one flood alert.
func TestFloodByAnUnprivilegedUserLosesNothingOfRoots(t *testing.T) {
	const comm = "fl-e2e-unpriv"
	flooder := testenv.Flooder(t, comm)
	rec := startRecorder(t, "-o", "json")
	var floods []*flooderRun
	for cpu := range 2 {
		floods = append(floods, runFlooder(t, exec.Command("taskset", "-c", strconv.Itoa(cpu),
			"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			"unshare", "-r", flooder, "-for", floodFor.String())))
	}
	rootPids := rootUnshares(t, floods...)
	pids := map[uint32]bool{}
	var calls uint64
	for _, f := range floods {
		pid, n, _ := f.report(t)
		pids[uint32(pid)] = true
		calls += n
	}
	code, out, stderr := rec.stop(t, syscall.SIGINT)
	if code != 0 {
		t.Fatalf("nstrace exit %d: %s", code, stderr)
	}
	rs := parseFloodOutput(t, out)
	checkRoot(t, rs, rootPids)
	delivered, counted, lost, alerts := account(rs, pids, 65534, comm)
	t.Logf("flooders: %d calls, %d shown, %d counted in flood records, %d lost; %s", calls, delivered, counted, lost, lastLine(stderr))
	if lost != 0 || delivered+counted != calls {
		t.Errorf("flooders made %d events: %d shown + %d counted + %d lost", calls, delivered, counted, lost)
	}
	if alerts != 1 {
		t.Errorf("%d flood alerts, want 1 (once per source per window)", alerts)
	}
	want := fmt.Sprintf("%d past their share counted in flood records, 0 lost", counted)
	if !strings.Contains(stderr, want) {
		t.Errorf("summary lacks %q:\n%s", want, stderr)
	}
}

// A flooder inside a container joins the host's net namespace halfway
// through its flood: the join is not buried in the flood records, and
// raises host-namespace-entry.
func TestFloodCannotHideAHostNamespaceEntry(t *testing.T) {
	const comm = "fl-e2e-join"
	runc := testenv.RequireTool(t, "runc")
	flooder := testenv.Flooder(t, comm)
	bundle := testenv.Bundle(t, "/"+comm, "-for", floodFor.String(), "-join", "/hostnet")
	setUpFlooderBundle(t, bundle, flooder, "/proc/"+strconv.Itoa(os.Getpid())+"/ns/net")
	id := "nstrace-flood-join-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { _ = exec.Command(runc, "delete", "-f", id).Run() }) // fails if never created
	rec := startRecorder(t, "-o", "json")
	f := runFlooder(t, exec.Command(runc, "run", "-b", bundle, id))
	_, calls, joined := f.report(t)
	if !joined {
		t.Fatal("the flooder did not join the host's net namespace")
	}
	code, out, stderr := rec.stop(t, syscall.SIGINT)
	if code != 0 {
		t.Fatalf("nstrace exit %d: %s", code, stderr)
	}
	rs := parseFloodOutput(t, out)
	var hostJoin, hostAlerts, floodRecords int
	pids := map[uint32]bool{}
	for _, r := range rs {
		switch {
		case r.Event == "setns" && r.Comm == comm && len(r.Changes) == 1 && r.Changes[0].Type == "net" &&
			r.Changes[0].To == hostNetInode(t):
			hostJoin++
		case r.Event == "alert" && r.Rule == "host-namespace-entry":
			hostAlerts++
		case r.Event == "flood" && r.Comm == comm:
			floodRecords++
		case r.Event == "unshare" && r.Comm == comm:
			pids[r.Pid] = true
		}
	}
	delivered, counted, lost, _ := account(rs, pids, 0, comm)
	t.Logf("flooder: %d calls, %d shown, %d counted, %d lost; %s", calls, delivered, counted, lost, lastLine(stderr))
	if floodRecords == 0 {
		t.Fatal("the flood never went past its share")
	}
	if hostJoin != 1 || hostAlerts != 1 {
		t.Errorf("host net join: %d events, %d host-namespace-entry alerts; want 1 and 1", hostJoin, hostAlerts)
	}
	if lost != 0 || delivered+counted != calls {
		t.Errorf("flooder made %d events: %d shown + %d counted + %d lost", calls, delivered, counted, lost)
	}
}

// setUpFlooderBundle puts the flooder in the bundle as /NAME, gives it
// CAP_SYS_ADMIN (to unshare and setns), and bind-mounts hostNet at /hostnet.
func setUpFlooderBundle(t *testing.T, bundle, flooder, hostNet string) {
	t.Helper()
	testenv.CopyProgram(t, bundle, flooder)
	testenv.BindFile(t, bundle, "/hostnet", hostNet)
	testenv.EditBundle(t, bundle, func(cfg map[string]any) { testenv.AddCapability(cfg, "CAP_SYS_ADMIN") })
}

func hostNetInode(t *testing.T) uint32 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return uint32(st.Ino)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], " events") {
			return lines[i]
		}
	}
	return ""
}

func TestFloodFlagsOutOfRangeAreBadUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--flood-rate", "-1"}, "nstrace: --flood-rate -1: want 0 (no limit) to 1000000000 events a second\n"},
		{[]string{"--flood-burst", "0"}, "nstrace: --flood-burst 0: want at least 1\n"},
	} {
		stdout, stderr, code := nstrace(t, nil, append([]string{"trace"}, c.args...)...)
		if code != 2 || stderr != c.want || stdout != "" {
			t.Errorf("trace %v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
}

// --flood-rate and --flood-burst set the shares; --flood-rate 0 lifts them.
func TestFloodFlagsSetTheShares(t *testing.T) {
	const comm = "fl-e2e-flags"
	flooder := testenv.Flooder(t, comm)
	for _, c := range []struct {
		args     []string
		maxShown func(d time.Duration) uint64 // 0: no bound
	}{
		// One source: its uid's share plus its cgroup's.
		{[]string{"--flood-rate", "100", "--flood-burst", "50"},
			func(d time.Duration) uint64 { return 2 * (50 + uint64(100*d.Seconds()) + 1) }},
		// No share: a small ring overflows (and drains in a moment).
		{[]string{"--flood-rate", "0", "--ring-size", "65536"}, nil},
	} {
		rec := startRecorder(t, append([]string{"-o", "json", "--no-alerts"}, c.args...)...)
		start := time.Now()
		// Unprivileged: a root flood would take the share of root's other
		// tests' events.
		f := runFlooder(t, exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			"unshare", "-r", flooder, "-for", "1s"))
		pid, calls, _ := f.report(t)
		elapsed := time.Since(start)
		code, out, stderr := rec.stop(t, syscall.SIGINT)
		if code != 0 {
			t.Fatalf("nstrace exit %d: %s", code, stderr)
		}
		delivered, counted, lost, _ := account(parseFloodOutput(t, out), map[uint32]bool{uint32(pid): true}, 65534, comm)
		t.Logf("%v: %d calls, %d shown, %d counted, %d lost", c.args, calls, delivered, counted, lost)
		if c.maxShown == nil {
			// Loss markers count every process's records: at least the flooder's.
			if counted != 0 || lost == 0 || delivered+lost < calls {
				t.Errorf("%v: %d calls, %d shown + %d counted + %d lost; want none counted, the rest lost",
					c.args, calls, delivered, counted, lost)
			}
			continue
		}
		if delivered+counted+lost != calls {
			t.Errorf("%v: %d calls, %d shown + %d counted + %d lost", c.args, calls, delivered, counted, lost)
		}
		if counted == 0 || delivered > c.maxShown(elapsed) {
			t.Errorf("%v: %d shown in %v, want at most %d and the rest counted", c.args, delivered, elapsed, c.maxShown(elapsed))
		}
	}
}
