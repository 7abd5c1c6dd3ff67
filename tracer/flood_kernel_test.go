package tracer_test

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// Kernel tests of fairness under floods: a source flooding at full speed on
// both CPUs takes only its share; every event of everyone else arrives, and
// every event of the flooder is delivered, counted in a flood record, or
// counted lost.

// floodFor bounds each flood: other tests share the machine's CPUs. In
// make vmtest's guest (one emulated CPU) the commands run beside a flood at
// a person's pace start several times slower: the flood lasts long enough
// for them to run as often as the checks need; twice as long in the arm64
// guest, emulated instruction by instruction on an amd64 host, whose execs
// start slower still.
func floodFor() time.Duration {
	switch {
	case testenv.InVM() && runtime.GOARCH != "amd64":
		return 20 * time.Second
	case testenv.InVM():
		return 10 * time.Second
	}
	return 2 * time.Second
}

// Each test's flooder has its own comm: floods of other tests, in other
// packages, may show in this test's tracer.
const (
	unprivComm    = "fl-unpriv"
	containerComm = "fl-container"
	joinComm      = "fl-join"
)

// Two flooders as uid 65534, each in a user namespace it made, one per
// CPU (one where the test may use a single CPU, as in make vmtest),
// unshare a uts namespace as fast as they can while root runs
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
	cpus := usableCPUs(t)
	for _, cpu := range cpus[:min(2, len(cpus))] {
		// unshare -r: the user namespace is made by uid 65534 (what the
		// unprivileged-userns rule must see), and the flooder is root in it.
		floods = append(floods, startFlood(t, exec.Command(taskset, "-c", strconv.Itoa(cpu),
			setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
			unshare, "-r", flooder, "-for", floodFor().String())))
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
	bundle := flooderBundle(t, flooder, "-for", floodFor().String())
	id := "nstrace-flood-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { _ = exec.Command(runc, "delete", "-f", id).Run() }) // fails if never created
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
	bundle := flooderBundle(t, flooder, "-for", floodFor().String(), "-join", "/othernet")
	testenv.BindFile(t, bundle, "/othernet", "/proc/"+strconv.Itoa(holder)+"/ns/net")
	id := "nstrace-flood-other-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { _ = exec.Command(runc, "delete", "-f", id).Run() }) // fails if never created
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
