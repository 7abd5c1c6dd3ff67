package tracer_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// capture runs a tracer in the background and keeps every event.
type capture struct {
	tr     *tracer.Tracer
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	events []*event.Event
}

func startCapture(t testing.TB, opts tracer.Options) *capture {
	t.Helper()
	testenv.RequireKernel(t)
	if opts.Hooks == "" {
		opts.Hooks = os.Getenv("NSTRACE_HOOKS") // the VM runs the suite under each hook set
	}
	tr, err := tracer.Open(opts)
	if err != nil {
		t.Fatalf("open tracer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &capture{tr: tr, cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- tr.Run(ctx, func(ev *event.Event) error {
			c.mu.Lock()
			c.events = append(c.events, ev.Clone())
			c.mu.Unlock()
			return nil
		}, nil)
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop detaches, drains the ring and returns every event seen. Whatever
// happened before stop is in the ring by then: no waiting is needed.
func (c *capture) stop(t testing.TB) []*event.Event {
	t.Helper()
	if c.cancel != nil {
		c.cancel()
		if err := <-c.done; err != nil {
			t.Errorf("tracer run: %v", err)
		}
		c.tr.Close()
		c.cancel = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events
}

// where keeps the events matching keep.
func where(evs []*event.Event, keep func(*event.Event) bool) []*event.Event {
	var out []*event.Event
	for _, ev := range evs {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// The selectors below leave out destroy events: those name the task that
// dropped the last reference, which says nothing about who made a change.

func byTid(tid int) func(*event.Event) bool {
	return func(ev *event.Event) bool {
		return ev.Tid == uint32(tid) && ev.Kind != event.Clone && ev.Kind != event.Destroy
	}
}

func byPid(pid int) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Pid == uint32(pid) && ev.Kind != event.Destroy }
}

func byParent(pid int) func(*event.Event) bool {
	return func(ev *event.Event) bool { return ev.Kind == event.Clone && ev.Ppid == uint32(pid) }
}

// nsSet is the inode of every /proc/PID/ns entry of one task.
type nsSet map[event.NsType]uint32

// readNs reads a task's namespaces from /proc, e.g. "self", "thread-self",
// "1234" or "1234/task/1240".
func readNs(t testing.TB, task string) nsSet {
	t.Helper()
	s := nsSet{}
	for ty := range event.NsType(event.NumNsTypes) {
		ino, err := nsInode(filepath.Join("/proc", task, "ns", ty.String()))
		if err != nil {
			t.Fatalf("read namespace: %v", err)
		}
		s[ty] = ino
	}
	return s
}

// nsInode reads the inode a /proc/PID/ns link names ("net:[4026531833]").
func nsInode(path string) (uint32, error) {
	target, err := os.Readlink(path)
	if err != nil {
		return 0, err
	}
	open, close := strings.IndexByte(target, '['), strings.IndexByte(target, ']')
	if open < 0 || close < open {
		return 0, fmt.Errorf("%s: unexpected link %q", path, target)
	}
	n, err := strconv.ParseUint(target[open+1:close], 10, 32)
	return uint32(n), err
}

func fdInode(t testing.TB, fd int) uint32 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat: %v", err)
	}
	return uint32(st.Ino)
}

// wantChanges checks that ev carries exactly these changes, in any order.
func wantChanges(t testing.TB, ev *event.Event, want ...event.Change) {
	t.Helper()
	got := map[event.NsType]event.Change{}
	for _, c := range ev.Changes {
		c.NsID, c.Name, c.Host, c.Owner, c.Container = 0, "", false, 0, nil
		got[c.Type] = c
	}
	if len(ev.Changes) != len(want) {
		t.Errorf("%s event has %d changes %+v, want %d %+v", ev.Kind, len(ev.Changes), ev.Changes, len(want), want)
	}
	for _, w := range want {
		if g, ok := got[w.Type]; !ok || g != w {
			t.Errorf("%s event: change of %s = %+v, want %+v", ev.Kind, w.Type, g, w)
		}
	}
}

// onLockedThread runs fn on a fresh OS thread that is thrown away after, so
// namespace changes made there never leak into the rest of the test binary.
func onLockedThread(fn func(tid int) error) error {
	errc := make(chan error, 1)
	go func() {
		// No UnlockOSThread: the runtime kills the thread when this goroutine ends.
		if err := lockThread(); err != nil {
			errc <- err
			return
		}
		errc <- fn(unix.Gettid())
	}()
	return <-errc
}

func lockThread() error {
	runtime.LockOSThread()
	// A thread that shares its fs_struct cannot unshare some namespaces.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	return nil
}

func one(t testing.TB, evs []*event.Event, what string) *event.Event {
	t.Helper()
	if len(evs) != 1 {
		for _, ev := range evs {
			t.Logf("event: %s", ev.AppendJSON(nil))
		}
		t.Fatalf("%s: got %d events, want 1", what, len(evs))
	}
	return evs[0]
}

// holdProcess starts a shell with attr and keeps it alive until the test
// ends, returning its pid and namespaces. The shell forks a child (so that a
// new pid namespace gets its init and /proc can show pid_for_children) and
// says "started" only after that fork: by then its namespace changes are in
// the ring. A Go helper cannot serve here: its runtime cannot start threads
// once pid_for_children differs from its pid namespace.
func holdProcess(t testing.TB, attr *syscall.SysProcAttr) (int, nsSet) {
	t.Helper()
	testenv.RequireKernel(t) // new namespaces need root: without it, skip as the kernel tests do
	cmd := exec.Command("sh", "-c", "exec 3<&0; cat <&3 & echo started; wait")
	cmd.SysProcAttr = attr
	_, out := testenv.StartPiped(t, cmd) // it exits at the end of its stdin
	line, err := out.ReadString('\n')
	if line != "started\n" {
		t.Fatalf("held process said %q, %v", line, err)
	}
	return cmd.Process.Pid, readNs(t, strconv.Itoa(cmd.Process.Pid))
}
