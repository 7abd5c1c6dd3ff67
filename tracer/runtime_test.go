package tracer_test

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// An OCI container started and exec'd into by runc: every namespace the
// container has and the host does not is created exactly once by the
// runtime, and `exec` joins exactly those. (crun is not exercised: on this
// hybrid cgroup v1/v2 host it refuses to start containers.)
func TestContainerRuntimeRunAndExec(t *testing.T) {
	testRuntime(t, "runc")
}

// printNs is a shell loop printing the container's namespaces, one per line
// in allTypes order (busybox readlink takes one path).
func printNs() string {
	var names []string
	for _, ty := range allTypes {
		names = append(names, ty.String())
	}
	return "for t in " + strings.Join(names, " ") + "; do readlink /proc/self/ns/$t; done"
}

func testRuntime(t *testing.T, runtime string) {
	bin := testenv.RequireTool(t, runtime)
	bundle := testenv.Bundle(t, "/bin/sh", "-c", printNs()+"; echo started; exec cat")
	id := "nstrace-test-" + runtime + "-" + strconv.Itoa(os.Getpid())
	before := readNs(t, "self")
	c := startCapture(t, tracer.Options{})

	// Namespaces the runtime makes are created after this. An earlier
	// namespace of another process may have had the same inode and died.
	runStart := time.Now()
	run := exec.Command(bin, "run", "-b", bundle, id)
	hold, _ := run.StdinPipe()
	out, _ := run.StdoutPipe()
	run.Stderr = os.Stderr
	if err := run.Start(); err != nil {
		t.Fatalf("%s run: %v", runtime, err)
	}
	t.Cleanup(func() {
		hold.Close()
		// Cleanup: the container exits on EOF; its exit status and a
		// delete of an already gone container say nothing about the test.
		_ = run.Wait()
		_ = exec.Command(bin, "delete", "-f", id).Run()
	})
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "started" {
		lines = append(lines, sc.Text())
	}
	started := time.Now()
	inside := parseReadlinks(t, strings.Join(lines, "\n"), readlinkArgs(allTypes...)[1:])

	execOut, err := exec.Command(bin, "exec", id, "sh", "-c", printNs()).Output()
	if err != nil {
		t.Fatalf("%s exec: %v", runtime, err)
	}
	if exec := parseReadlinks(t, string(execOut), readlinkArgs(allTypes...)[1:]); !sameNs(exec, inside) {
		t.Fatalf("exec'd process has %v, container %v", exec, inside)
	}
	evs := c.stop(t)

	for _, ty := range allTypes {
		if inside[ty] == before[ty] {
			continue
		}
		var creates, joins int
		for _, ev := range evs {
			for _, ch := range ev.Changes {
				if ch.To != inside[ty] || !sameFamily(ch.Type, ty) || ev.Time.Before(runStart) {
					continue
				}
				switch {
				case ch.Action == event.Create && ev.Time.Before(started) && sameFamily(ch.Type, ty):
					creates++
				case ch.Action == event.Join && ev.Time.After(started) && ch.Type == ty:
					joins++
				}
				if !strings.HasPrefix(ev.Comm, runtime) {
					t.Errorf("%s of %s by %q", ch.Action, ty, ev.Comm)
				}
			}
		}
		if creates != 1 || joins != 1 {
			t.Errorf("%s %d: created %d times before start, joined %d times by exec; want 1 and 1", ty, inside[ty], creates, joins)
		}
	}
}

// sameFamily: a pid namespace is created as pid_for_children (or pid), a
// time namespace as time_for_children; the inode is the namespace.
func sameFamily(a, b event.NsType) bool {
	family := func(t event.NsType) event.NsType {
		switch t {
		case event.PidForChildren:
			return event.Pid
		case event.TimeForChildren:
			return event.Time
		}
		return t
	}
	return family(a) == family(b)
}

func sameNs(a, b nsSet) bool {
	for ty, ino := range a {
		if b[ty] != ino {
			return false
		}
	}
	return len(a) == len(b)
}
