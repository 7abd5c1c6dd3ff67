package resolve

import (
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
)

// On a cgroup v1 host a live resolver reads the cgroup file of a process
// that is there, and gives its container as the file says; of one that
// has exited and been reaped it reads nothing.
func TestResolveReadsNoCgroupOfAGoneTask(t *testing.T) {
	requireRoot(t)
	r := New(nil)
	if !r.tree.V1 {
		t.Skip("no cgroup v1 hierarchy here: the kernel's cgroup id says all")
	}
	if !r.procOurs {
		t.Fatal("our /proc is not our pid namespace's")
	}
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	defer func(f func([]byte, string, uint32, string) ([]byte, bool)) { appendTaskFile = f }(appendTaskFile)
	read := appendTaskFile
	appendTaskFile = func(dst []byte, root string, tid uint32, name string) ([]byte, bool) {
		reads++
		return read(dst, root, tid, name)
	}
	for _, c := range []struct {
		pid   int
		reads int
		want  *event.Container
	}{{os.Getpid(), 1, container.NewClassifier("/").Process(string(self)).Container}, {child.Process.Pid, 0, nil}} {
		reads = 0
		ev := &event.Event{Time: time.Now(), Kind: event.Unshare, Pid: uint32(c.pid), Tid: uint32(c.pid), CgroupID: 1}
		r.Resolve(ev)
		if reads != c.reads || !reflect.DeepEqual(ev.Container, c.want) {
			t.Errorf("pid %d: %d reads, container %+v; want %d, %+v", c.pid, reads, ev.Container, c.reads, c.want)
		}
	}
}
