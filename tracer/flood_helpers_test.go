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

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// What the flood tests share: running flooders, root's pace of events,
// counting a flood, bundles and cgroup keys.

// flooderReport is what tracer/internal/testenv/flooder prints.
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
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-f.done }) // may have exited already
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

// flooderBundle is a busybox bundle running the flooder (as /NAME) as root
// with CAP_SYS_ADMIN, to unshare.
func flooderBundle(t *testing.T, flooder string, args ...string) string {
	t.Helper()
	bundle := testenv.Bundle(t, append([]string{"/" + filepath.Base(flooder)}, args...)...)
	testenv.CopyProgram(t, bundle, flooder)
	testenv.EditBundle(t, bundle, func(cfg map[string]any) { testenv.AddCapability(cfg, "CAP_SYS_ADMIN") })
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

// usableCPUs lists the CPUs this process may run on, for pinning flooders.
func usableCPUs(t *testing.T) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatalf("sched_getaffinity: %v", err)
	}
	var cpus []int
	for cpu := 0; cpu < len(set)*64; cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	if len(cpus) == 0 {
		t.Fatal("sched_getaffinity: no CPU")
	}
	return cpus
}
