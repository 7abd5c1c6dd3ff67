package tracer_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/testenv"
)

// Kernel tests of fairness under floods: a source flooding at full speed on
// both CPUs takes only its share; every event of everyone else arrives, and
// every event of the flooder is delivered, counted in a flood record, or
// counted lost.

// floodFor bounds each flood: other tests share the machine's CPUs.
const floodFor = 2 * time.Second

// Each test's flooder has its own comm: floods of other tests, in other
// packages, may show in this test's tracer.
const (
	unprivComm    = "fl-unpriv"
	containerComm = "fl-container"
	joinComm      = "fl-join"
)

// flooderReport is what tracer/testenv/flooder prints.
type flooderReport struct {
	Pid    int    `json:"pid"`
	Calls  uint64 `json:"calls"`
	Failed uint64 `json:"failed"`
	Joined bool   `json:"joined"`
}

// flood is a running flooder.
type flood struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	err  error
	done chan struct{} // closed once it exited: err is set
}

func startFlood(t *testing.T, cmd *exec.Cmd) *flood {
	t.Helper()
	f := &flood{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &f.out, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start flooder: %v", err)
	}
	go func() {
		f.err = cmd.Wait()
		close(f.done)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-f.done })
	return f
}

func (f *flood) wait(t *testing.T) flooderReport {
	t.Helper()
	<-f.done
	if f.err != nil {
		t.Fatalf("flooder: %v: %s", f.err, f.out.String())
	}
	var r flooderReport
	if err := json.Unmarshal(f.out.Bytes(), &r); err != nil {
		t.Fatalf("flooder report %q: %v", f.out.String(), err)
	}
	return r
}

// rootUnsharesWhile runs `unshare -u true` as root until done closes and
// returns the pids it ran: each is one event that must arrive.
func rootUnsharesWhile(t *testing.T, done <-chan struct{}) []int {
	t.Helper()
	unshare := testenv.RequireTool(t, "unshare")
	var pids []int
	for {
		select {
		case <-done:
			return pids
		default:
		}
		cmd := exec.Command(unshare, "-u", "true")
		if err := cmd.Run(); err != nil {
			t.Fatalf("unshare -u true: %v", err)
		}
		pids = append(pids, cmd.Process.Pid)
		time.Sleep(20 * time.Millisecond) // a person's pace, not a flood
	}
}

// waitAll closes the returned channel once every flooder has exited.
func waitAll(floods ...*flood) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for _, f := range floods {
			<-f.done
		}
		close(done)
	}()
	return done
}

// checkRootEvents asserts that each pid made exactly one uts create, as uid 0.
func checkRootEvents(t *testing.T, evs []*event.Event, pids []int) {
	t.Helper()
	if len(pids) < 10 {
		t.Fatalf("root ran unshare %d times during the flood; want at least 10 for the test to mean anything", len(pids))
	}
	byPidCount := map[uint32]int{}
	for _, ev := range evs {
		if ev.Kind == event.Unshare && ev.UID == 0 && len(ev.Changes) == 1 && ev.Changes[0].Type == event.UTS {
			byPidCount[ev.Pid]++
		}
	}
	got := 0
	for _, pid := range pids {
		if n := byPidCount[uint32(pid)]; n != 1 {
			t.Errorf("root's unshare -u (pid %d): %d events, want 1", pid, n)
		} else {
			got++
		}
	}
	t.Logf("root's events: %d of %d delivered", got, len(pids))
}

// floodAccount counts a flooder's uts unshares: delivered (by pid) and
// counted in flood records (by uid and comm).
func floodAccount(evs []*event.Event, pids map[uint32]bool, uid uint32, comm string) (delivered, counted uint64, records int) {
	for _, ev := range evs {
		switch {
		case ev.Kind == event.Flood && ev.UID == uid && ev.Comm == comm && ev.Counted == event.Unshare:
			counted += ev.Count
			records++
		case ev.Kind == event.Unshare && pids[ev.Pid] && ev.Comm == comm:
			delivered++
		}
	}
	return delivered, counted, records
}

func lostIn(evs []*event.Event) uint64 {
	var n uint64
	for _, ev := range evs {
		if ev.Kind == event.Lost {
			n += ev.Lost
		}
	}
	return n
}

// Two flooders as uid 65534, each in a user namespace it made, one per
// CPU, unshare a uts namespace as fast as they can while root runs
// `unshare -u true` at a person's pace: all of root's events arrive, the
// flooders' are delivered or counted to the call, and nothing is lost.
func TestFloodByAnUnprivilegedUserStarvesNoOne(t *testing.T) {
	testenv.RequireKernel(t)
	flooder := testenv.Flooder(t, unprivComm)
	setpriv := testenv.RequireTool(t, "setpriv")
	unshare := testenv.RequireTool(t, "unshare")
	taskset := testenv.RequireTool(t, "taskset")
	c := startCapture(t, tracer.Options{FloodRate: floodRateForTest()})

	var floods []*flood
	for cpu := range 2 {
		// unshare -r: the user namespace is made by uid 65534 (what the
		// unprivileged-userns rule must see), and the flooder is root in it.
		floods = append(floods, startFlood(t, exec.Command(taskset, "-c", strconv.Itoa(cpu),
			setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
			unshare, "-r", flooder, "-for", floodFor.String())))
	}
	// Mid-flood, the flooders' uid (in their cgroup, both past their
	// share) creates user namespaces, and is denied a net namespace: each
	// creation, and each process's first failure, must still be shown.
	done := waitAll(floods...)
	type midFloodPids struct{ userns, denied []int }
	mid := make(chan midFloodPids)
	go func() {
		var m midFloodPids
		for {
			select {
			case <-done:
				mid <- m
				return
			default:
			}
			cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", unshare, "-U", "true")
			if cmd.Run() == nil {
				m.userns = append(m.userns, cmd.Process.Pid)
			}
			cmd = exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", unshare, "-n", "true")
			if cmd.Run() != nil {
				m.denied = append(m.denied, cmd.Process.Pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	rootPids := rootUnsharesWhile(t, done)
	midFlood := <-mid
	pids := map[uint32]bool{}
	var calls uint64
	for _, f := range floods {
		r := f.wait(t)
		if r.Failed != 0 {
			t.Fatalf("flooder %d: %d of %d unshares failed", r.Pid, r.Failed, r.Calls)
		}
		pids[uint32(r.Pid)] = true
		calls += r.Calls
	}
	evs := c.stop(t)

	checkRootEvents(t, evs, rootPids)
	for pid := range pids {
		userns := where(evs, func(ev *event.Event) bool {
			return ev.Pid == pid && ev.Kind == event.Unshare && ev.Comm == "unshare" && ev.UID == 65534 &&
				len(ev.Changes) == 1 && ev.Changes[0].Type == event.User && ev.Changes[0].Action == event.Create
		})
		if len(userns) != 1 {
			t.Errorf("flooder %d: %d user namespace creations delivered, want 1", pid, len(userns))
		}
	}
	if len(midFlood.userns) < 5 || len(midFlood.denied) < 5 {
		t.Fatalf("mid-flood: %d user namespaces made, %d denied; want at least 5 each", len(midFlood.userns), len(midFlood.denied))
	}
	for _, pid := range midFlood.denied {
		denied := where(evs, func(ev *event.Event) bool {
			return ev.Pid == uint32(pid) && ev.Kind == event.Unshare && ev.UID == 65534 && ev.Errno == syscall.EPERM
		})
		if len(denied) != 1 {
			t.Errorf("net namespace denied mid-flood to pid %d: %d events, want 1", pid, len(denied))
		}
	}
	for _, pid := range midFlood.userns {
		userns := where(evs, func(ev *event.Event) bool {
			return ev.Pid == uint32(pid) && ev.Kind == event.Unshare && ev.UID == 65534 &&
				len(ev.Changes) == 1 && ev.Changes[0].Type == event.User && ev.Changes[0].Action == event.Create
		})
		if len(userns) != 1 {
			t.Errorf("user namespace made mid-flood by pid %d: %d events, want 1", pid, len(userns))
		}
	}
	delivered, counted, records := floodAccount(evs, pids, 65534, unprivComm)
	st := c.tr.Stats()
	t.Logf("mid-flood: %d user namespaces made, %d denied, all shown; flooders: %d calls: %d delivered, %d counted in %d flood records; tracer: %+v",
		len(midFlood.userns), len(midFlood.denied), calls, delivered, counted, records, st)
	if lost := lostIn(evs); lost != 0 || st.Lost != 0 {
		t.Errorf("lost %d records (stats %+v), want 0", lost, st)
	}
	if delivered+counted != calls {
		t.Errorf("flooders made %d events; %d delivered + %d counted = %d", calls, delivered, counted, delivered+counted)
	}
	if counted == 0 || st.Flooded < counted {
		t.Errorf("flood records count %d (stats: %d): the flood never went past its share", counted, st.Flooded)
	}
	// The flooders run in this test's cgroup: their records name it.
	own := ownCgroupKey(t)
	for _, ev := range evs {
		if ev.Kind == event.Flood && ev.Comm == unprivComm && ev.CgroupID != own {
			t.Errorf("flood record cgroup_id %d, want this test's %d", ev.CgroupID, own)
		}
	}
}

// The flooder is root inside a runc container (another cgroup), against root
// on the host: the same uid, so fairness comes from the cgroup.
func TestFloodFromAContainerStarvesNotTheHost(t *testing.T) {
	testenv.RequireKernel(t)
	runc := testenv.RequireTool(t, "runc")
	flooder := testenv.Flooder(t, containerComm)
	bundle := flooderBundle(t, flooder, "-for", floodFor.String())
	id := "nstrace-flood-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { exec.Command(runc, "delete", "-f", id).Run() })
	c := startCapture(t, tracer.Options{})

	f := startFlood(t, exec.Command(runc, "run", "-b", bundle, id))
	rootPids := rootUnsharesWhile(t, waitAll(f))
	r := f.wait(t)
	if r.Failed != 0 {
		t.Fatalf("flooder: %d of %d unshares failed", r.Failed, r.Calls)
	}
	evs := c.stop(t)

	checkRootEvents(t, evs, rootPids)
	// Inside its pid namespace the flooder is pid 1: find its host pid by
	// its events (its comm is only this test's).
	pids := map[uint32]bool{}
	for _, ev := range evs {
		if ev.Kind == event.Unshare && ev.Comm == containerComm {
			pids[ev.Pid] = true
		}
	}
	if len(pids) > 1 {
		t.Fatalf("flooder events from pids %v, want one process", pids)
	}
	delivered, counted, records := floodAccount(evs, pids, 0, containerComm)
	st := c.tr.Stats()
	t.Logf("flooder: %d calls: %d delivered, %d counted in %d flood records; tracer: %+v", r.Calls, delivered, counted, records, st)
	if lost := lostIn(evs); lost != 0 || st.Lost != 0 {
		t.Errorf("lost %d records (stats %+v), want 0", lost, st)
	}
	if delivered+counted != r.Calls {
		t.Errorf("flooder made %d events; %d delivered + %d counted = %d", r.Calls, delivered, counted, delivered+counted)
	}
	if counted == 0 {
		t.Fatal("the flood never went past its share")
	}
	// The flood records name the container's cgroup, not the host's.
	own := ownCgroupKey(t)
	for _, ev := range evs {
		if ev.Kind == event.Flood && ev.Comm == containerComm && (ev.CgroupID == own || ev.CgroupID <= 1) {
			t.Errorf("flood record cgroup_id %d: want the container's, not the host's %d", ev.CgroupID, own)
		}
	}
}

// A flooder in a container, past its share, joins a net namespace another
// cgroup made (a process on the host): the join is shown, not counted away
// (what cross-container-join needs), while the flood is counted.
func TestFloodCannotHideAJoinIntoAnotherCgroupsNamespace(t *testing.T) {
	testenv.RequireKernel(t)
	runc := testenv.RequireTool(t, "runc")
	flooder := testenv.Flooder(t, joinComm)
	holder, ns := holdProcess(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET})
	bundle := flooderBundle(t, flooder, "-for", floodFor.String(), "-join", "/othernet")
	bindInto(t, bundle, "/othernet", "/proc/"+strconv.Itoa(holder)+"/ns/net")
	id := "nstrace-flood-other-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { exec.Command(runc, "delete", "-f", id).Run() })
	c := startCapture(t, tracer.Options{})

	r := startFlood(t, exec.Command(runc, "run", "-b", bundle, id)).wait(t)
	if !r.Joined {
		t.Fatal("the flooder did not join the other net namespace")
	}
	evs := c.stop(t)
	joins := where(evs, func(ev *event.Event) bool {
		return ev.Kind == event.Setns && ev.Comm == joinComm && len(ev.Changes) == 1 &&
			ev.Changes[0].Type == event.Net && ev.Changes[0].Action == event.Join && ev.Changes[0].To == ns[event.Net]
	})
	pids := map[uint32]bool{}
	for _, ev := range evs {
		if ev.Kind == event.Unshare && ev.Comm == joinComm {
			pids[ev.Pid] = true
		}
	}
	delivered, counted, records := floodAccount(evs, pids, 0, joinComm)
	t.Logf("flooder: %d calls: %d shown, %d counted in %d records; join into net %d shown %d times",
		r.Calls, delivered, counted, records, ns[event.Net], len(joins))
	if counted == 0 {
		t.Fatal("the flood never went past its share")
	}
	if len(joins) != 1 {
		t.Errorf("join into the other cgroup's net namespace: %d events, want 1", len(joins))
	}
	if delivered+counted != r.Calls {
		t.Errorf("flooder made %d events; %d shown + %d counted", r.Calls, delivered, counted)
	}
}

// bindInto bind-mounts src at dst (a file) in the bundle's container.
func bindInto(t *testing.T, bundle, dst, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", dst), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["mounts"] = append(cfg["mounts"].([]any), map[string]any{
		"destination": dst, "type": "bind", "source": src, "options": []string{"bind"}})
	if raw, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// flooderBundle is a busybox bundle running the flooder (as /NAME) as root
// with CAP_SYS_ADMIN, to unshare.
func flooderBundle(t *testing.T, flooder string, args ...string) string {
	t.Helper()
	name := "/" + filepath.Base(flooder)
	bundle := testenv.Bundle(t, append([]string{name}, args...)...)
	data, err := os.ReadFile(flooder)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", name), data, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	caps := cfg["process"].(map[string]any)["capabilities"].(map[string]any)
	for _, set := range []string{"bounding", "effective", "permitted"} {
		list, _ := caps[set].([]any)
		caps[set] = append(list, "CAP_SYS_ADMIN")
	}
	if raw, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return bundle
}

func floodRateForTest() int {
	n, _ := strconv.Atoi(os.Getenv("NSTRACE_TEST_FLOOD_RATE"))
	return n
}

// ownCgroupKey is the key the kernel charges this process's events to: its
// cgroup v2 directory's inode, or where it sits at the v2 root, its v1
// memory cgroup directory's.
func ownCgroupKey(t *testing.T) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			for _, ctl := range strings.Split(parts[1], ",") {
				paths[ctl] = parts[2]
			}
		}
	}
	dir := ""
	switch {
	case paths[""] != "" && paths[""] != "/":
		dir = "/sys/fs/cgroup" + paths[""]
		if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
			dir = "/sys/fs/cgroup/unified" + paths[""]
		}
	case paths["memory"] != "":
		dir = "/sys/fs/cgroup/memory" + paths["memory"]
	default:
		dir = "/sys/fs/cgroup"
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatalf("stat own cgroup: %v", err)
	}
	return st.Ino
}
