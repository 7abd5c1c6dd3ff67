package tracer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// The programs read tasks through bpf_rdonly_cast where the kernel has it
// (cfg.rdonly_cast), else through the pointers the verifier trusts. Both
// report the same unshare and fork events, every field read from a task
// included, and those fields are the ones /proc shows.
func TestTasksReadThroughTheCastReportAsTheTrustedPointers(t *testing.T) {
	testenv.RequireKernel(t)
	if !hasKfunc(btf.NewCache(), "bpf_rdonly_cast") {
		t.Skip("the kernel has no bpf_rdonly_cast: only the trusted reads load")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare (util-linux): %v", err)
	}
	exe, err := filepath.EvalSymlinks(unshare)
	if err != nil {
		t.Fatal(err)
	}
	var views [2][]string
	for cast := range 2 {
		evs, pid := unshareAndFork(t, uint8(cast), unshare)
		var un, fork *event.Event
		for _, ev := range evs {
			switch {
			case ev.Kind == event.Unshare && ev.Pid == pid:
				un = ev
			case ev.Kind == event.Clone && ev.Ppid == pid:
				fork = ev
			}
		}
		if un == nil || fork == nil {
			t.Fatalf("rdonly_cast %d: no unshare (%v) or fork (%v) event of pid %d in %d events", cast, un != nil, fork != nil, pid, len(evs))
		}
		pidNs, userNs := selfNs(t, "pid"), selfNs(t, "user")
		if un.Comm != "unshare" || un.Ppid != uint32(os.Getpid()) || un.UserNS != userNs || un.UID != uint32(os.Getuid()) {
			t.Errorf("rdonly_cast %d: unshare event comm %q ppid %d userns %d uid %d, want unshare, %d, %d, %d",
				cast, un.Comm, un.Ppid, un.UserNS, un.UID, os.Getpid(), userNs, os.Getuid())
		}
		if len(un.Changes) != 1 || un.Changes[0].Type != event.PidForChildren || un.Changes[0].From != pidNs {
			t.Errorf("rdonly_cast %d: unshare changes %+v, want pid_for_children from %d", cast, un.Changes, pidNs)
		}
		if p := un.Process; p == nil || p.Exe != exe || len(p.Ancestors) == 0 || p.Ancestors[0].Pid != uint32(os.Getpid()) {
			t.Errorf("rdonly_cast %d: unshare's process %+v, want exe %s and this test as its parent", cast, p, exe)
		}
		if len(fork.Changes) != 1 || fork.Changes[0].Type != event.Pid || fork.Changes[0].From != pidNs ||
			fork.Changes[0].To != un.Changes[0].To || fork.UserNS != userNs || fork.Comm != "unshare" {
			t.Errorf("rdonly_cast %d: fork event comm %q userns %d changes %+v, want the pid namespace unshare made",
				cast, fork.Comm, fork.UserNS, fork.Changes)
		}
		views[cast] = []string{taskFields(un), taskFields(fork)}
	}
	if !reflect.DeepEqual(views[0], views[1]) {
		t.Errorf("the task's fields differ:\ntrusted reads: %q\ncast:          %q", views[0], views[1])
	}
}

// unshareAndFork traces `unshare --pid --fork true` with cfg.rdonly_cast
// set to cast and returns every event, and unshare's pid.
func unshareAndFork(t *testing.T, cast uint8, unshare string) ([]*event.Event, uint32) {
	t.Helper()
	tr, err := Open(Options{Hooks: os.Getenv("NSTRACE_HOOKS"), tune: func(spec *ebpf.CollectionSpec) {
		if err := setConfig(spec, func(c *gen.NstraceConfig) { c.RdonlyCast = cast }); err != nil {
			t.Fatal(err)
		}
	}})
	if err != nil {
		t.Fatalf("open tracer (rdonly_cast %d): %v", cast, err)
	}
	defer tr.Close()
	var (
		mu  sync.Mutex
		evs []*event.Event
	)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func(ev *event.Event) error {
			mu.Lock()
			evs = append(evs, ev.Clone())
			mu.Unlock()
			return nil
		}, nil)
	}()
	cmd := exec.Command(unshare, "--pid", "--fork", "true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unshare --pid --fork true: %v: %s", err, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	return evs, uint32(cmd.Process.Pid)
}

// taskFields is what an event read from its task, the inodes a new
// namespace gets left out.
func taskFields(ev *event.Event) string {
	f := []string{ev.Kind.String(), ev.Comm, strconv.Itoa(int(ev.UID)), strconv.Itoa(int(ev.Auid)),
		strconv.FormatUint(ev.Caps, 16), strconv.FormatUint(ev.CgroupID, 10), strconv.Itoa(int(ev.UserNS))}
	for _, c := range ev.Changes {
		f = append(f, c.Type.String(), c.Action.String(), strconv.Itoa(int(c.From)))
	}
	if p := ev.Process; p != nil {
		f = append(f, p.Exe, strings.Join(p.Args, " "))
		for _, a := range p.Ancestors {
			f = append(f, a.Comm, a.Exe)
		}
	}
	return strings.Join(f, "|")
}

func selfNs(t *testing.T, typ string) uint32 {
	t.Helper()
	n := nsInum("/proc/self/ns/" + typ)
	if n == 0 {
		t.Fatalf("read /proc/self/ns/%s", typ)
	}
	return n
}
