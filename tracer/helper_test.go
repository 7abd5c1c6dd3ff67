package tracer_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
)

// The test binary doubles as the helper process that kernel tests trace:
// with NSTRACE_TEST_HELPER set, TestMain runs that helper instead of tests.
func TestMain(m *testing.M) {
	// Keep the main thread to ourselves: tests change namespaces on throwaway
	// threads, and the main thread (what /proc/self shows) must not be one.
	runtime.LockOSThread()
	if mode := os.Getenv("NSTRACE_TEST_HELPER"); mode != "" {
		if err := runHelper(mode); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperReport is what a helper prints on stdout as JSON.
type helperReport struct {
	Pid    int               `json:"pid"`
	Tid    int               `json:"tid"`
	Ns     map[string]uint32 `json:"ns"`     // the helper's namespaces at the end
	Child  int               `json:"child"`  // a child it forked, if any
	Errors []string          `json:"errors"` // errno names of denied calls
}

func runHelper(mode string) error {
	r := helperReport{Pid: os.Getpid(), Tid: unix.Gettid()}
	var err error
	switch mode {
	case "report":
	case "wait":
		_, err = io.Copy(io.Discard, os.Stdin) // until the test closes stdin
	case "denied":
		err = helperDenied(&r)
	case "forks":
		err = helperForks()
	case "fork-into-children-ns":
		err = helperForkIntoChildrenNs(&r)
	case "vfork-hold":
		err = helperVforkHold()
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		return err
	}
	r.Ns = map[string]uint32{}
	for ty := range event.NsType(event.NumNsTypes) {
		task := fmt.Sprintf("/proc/self/task/%d/ns/%s", r.Tid, ty)
		if r.Ns[ty.String()], err = nsInode(task); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// helperDenied drops to uid 65534, then tries to unshare a net namespace
// and to setns into the one passed as fd 3.
func helperDenied(r *helperReport) error {
	if err := syscall.Setgid(65534); err != nil {
		return err
	}
	if err := syscall.Setuid(65534); err != nil {
		return err
	}
	for _, err := range []error{unix.Unshare(unix.CLONE_NEWNET), unix.Setns(3, unix.CLONE_NEWNET)} {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			return fmt.Errorf("expected a denied call, got %v", err)
		}
		r.Errors = append(r.Errors, event.ErrnoName(errno))
	}
	return nil
}

// helperForks starts processes the ordinary ways: os/exec (clone with
// CLONE_VM|CLONE_VFORK, or clone3) and a plain fork.
func helperForks() error {
	for range 10 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "NSTRACE_TEST_HELPER=report")
		if err := cmd.Run(); err != nil {
			return err
		}
		pid, err := rawFork()
		if err != nil {
			return err
		}
		if _, err := unix.Wait4(pid, nil, 0, nil); err != nil {
			return err
		}
	}
	return nil
}

// helperForkIntoChildrenNs gives its thread a new pid_for_children and
// time_for_children, then forks: the child enters both (joins, not creates).
func helperForkIntoChildrenNs(r *helperReport) error {
	if err := lockThread(); err != nil {
		return err
	}
	r.Tid = unix.Gettid()
	if err := unix.Unshare(unix.CLONE_NEWPID | unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare: %w", err)
	}
	pid, err := rawFork()
	if err != nil {
		return err
	}
	r.Child = pid
	_, err = unix.Wait4(pid, nil, 0, nil)
	return err
}

// rawFork forks without CLONE_VM, as fork(2) does; the child exits at once.
// (os/exec shares memory with its child until exec, which skips the
// time-namespace switch that a real fork makes.)
//
//go:nosplit
func rawFork() (int, error) {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		// The child exits at once; exit_group does not return.
		_, _, _ = unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return int(pid), nil
}

// helperVforkHold waits for a line on stdin, then makes
// $NSTRACE_HOLD_CALLERS clones with CLONE_VFORK|CLONE_NEWUTS at once, from
// as many threads. Each child writes one byte to stdout and blocks reading
// stdin: its parent stays inside clone until the test closes stdin.
func helperVforkHold() error {
	n, err := strconv.Atoi(os.Getenv("NSTRACE_HOLD_CALLERS"))
	if err != nil {
		return fmt.Errorf("NSTRACE_HOLD_CALLERS: %w", err)
	}
	// Threads parked in raw syscalls keep their P: give the runtime enough,
	// and no collection that would wait for them to stop.
	runtime.GOMAXPROCS(n + 2)
	debug.SetGCPercent(-1)
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	errs := make(chan error, n)
	for range n {
		go func() {
			runtime.LockOSThread()
			buf := new(byte)
			pid, err := vforkHeld(buf)
			if err == nil {
				_, err = unix.Wait4(pid, nil, 0, nil)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return fmt.Errorf("held clone: %w", err)
		}
	}
	return nil
}

// vforkHeld is helperVforkHold's clone; buf is scratch for the child, which
// must not allocate.
//
//go:nosplit
//go:norace
func vforkHeld(buf *byte) (int, error) {
	flags := uintptr(unix.CLONE_VFORK | unix.CLONE_NEWUTS | unix.SIGCHLD)
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		*buf = 'x'
		// The forked child can only exit: a failed write shows as the
		// parent's missing byte, a failed read as an early exit.
		_, _, _ = unix.RawSyscall(unix.SYS_WRITE, 1, uintptr(unsafe.Pointer(buf)), 1)
		_, _, _ = unix.RawSyscall(unix.SYS_READ, 0, uintptr(unsafe.Pointer(buf)), 1)
		_, _, _ = unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return int(pid), nil
}

// runHelperProcess runs the test binary as a helper and decodes its report.
func runHelperProcess(t testing.TB, mode string, setup func(*exec.Cmd)) (*exec.Cmd, helperReport) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NSTRACE_TEST_HELPER="+mode)
	cmd.Stderr = os.Stderr
	if setup != nil {
		setup(cmd)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %s: %v", mode, err)
	}
	var r helperReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("helper %s: bad report %q: %v", mode, out, err)
	}
	return cmd, r
}

func (r helperReport) ns(t event.NsType) uint32 { return r.Ns[t.String()] }
