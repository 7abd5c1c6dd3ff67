package tracer_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// memoryHierarchy is where this host mounts the cgroup v1 memory
// controller, "" where it has none (cgroup v2 only).
func memoryHierarchy(t *testing.T) string {
	mounts, err := procfs.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if m.FSType == "cgroup" && slices.Contains(strings.Split(m.Options, ","), "memory") {
			return m.Point
		}
	}
	return ""
}

// A record of a task at the cgroup v2 root carries the id of its cgroup v1
// memory cgroup, the inode of that directory: here a shell that moved
// itself into a new one and then ran unshare(1). On a host without the v1
// memory hierarchy, none (0).
func TestRecordsCarryTheV1MemoryCgroup(t *testing.T) {
	hier := memoryHierarchy(t)
	var dir string
	var want uint64
	if hier != "" {
		dir = filepath.Join(hier, "nstrace-test-"+strconv.Itoa(os.Getpid()))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(dir) })
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			t.Fatal(err)
		}
		want = st.Ino
	}
	c := startCapture(t, tracer.Options{})
	script := "exec unshare -u true"
	if dir != "" {
		script = "echo $$ > " + filepath.Join(dir, "cgroup.procs") + " && " + script
	}
	cmd := exec.Command("sh", "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
	ev := one(t, where(c.stop(t), func(ev *event.Event) bool {
		return ev.Kind == event.Unshare && ev.Pid == uint32(cmd.Process.Pid)
	}), "unshare events of the shell")
	if ev.CgroupID == 1 && ev.MemCgroupID != want || ev.CgroupID != 1 && ev.MemCgroupID != 0 {
		t.Errorf("cgroup id %d, memory cgroup id %d, want %d (memory hierarchy %q)", ev.CgroupID, ev.MemCgroupID, want, hier)
	}
}
