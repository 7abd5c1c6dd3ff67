package nsbench

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// A workload is one line of the table: an operation repeated in a child
// process while nstrace, or its peer, watches or not.
type workload struct {
	Name  string  // the hidden subcommand's -name, and the JSON key
	Title string  // the table's label
	Kind  string  // the event each operation must produce; "" for none
	Goal  float64 // the target: traced/untraced slowdown, at most
	// FloorMargin, when set, makes the goal the floor column's ratio plus
	// this: the part of the cost nstrace's own code can answer for.
	FloorMargin float64
	batch       int // operations between clock reads
	// setup prepares the process (on the locked, pinned thread) and returns
	// the operation, done n times per call.
	setup func() (op func(n int) error, err error)
}

// workloads are the issue's, in its order.
var workloads = []workload{
	{Name: "fork", Title: "fork + exit, no namespace change", Goal: 1.01, batch: 8,
		setup: forkOp(0, 0)},
	{Name: "fork-exec", Title: "fork + exec true(1), no namespace change", Goal: 1.05, batch: 2,
		setup: forkExecOp},
	{Name: "fork-unshare", Title: "fork + child unshare(CLONE_NEWUTS)", Kind: "unshare", Goal: 1.05, batch: 8,
		setup: forkOp(0, unix.CLONE_NEWUTS)},
	{Name: "clone-newuts", Title: "clone(CLONE_NEWUTS) + wait", Kind: "clone", Goal: 1.05, batch: 8,
		setup: forkOp(unix.CLONE_NEWUTS, 0)},
	{Name: "setns", Title: "setns churn between two UTS namespaces", Kind: "setns", Goal: 1.30, FloorMargin: 0.10, batch: 256,
		setup: setnsOp},
	{Name: "getppid", Title: "unrelated syscall (getppid loop)", Goal: 1.45, FloorMargin: 0.03, batch: 4096,
		setup: getppidOp},
}

func findWorkload(name string) (workload, bool) {
	for _, w := range workloads {
		if w.Name == name {
			return w, true
		}
	}
	return workload{}, false
}

// forkOp forks without CLONE_VM, as fork(2) does, with extra clone flags; the
// child optionally unshares, then exits at once. The parent reaps it.
func forkOp(cloneFlags, childUnshare uintptr) func() (func(int) error, error) {
	return func() (func(int) error, error) {
		return func(n int) error {
			for range n {
				pid, errno := rawFork(cloneFlags, childUnshare)
				if errno != 0 {
					return fmt.Errorf("clone: %w", errno)
				}
				if err := reapChild(pid, "unshare"); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
}

// rawFork's child runs on a copy of the Go runtime with one thread: it may
// only make raw system calls and exit.
//
//go:nosplit
func rawFork(cloneFlags, childUnshare uintptr) (int, syscall.Errno) {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, cloneFlags|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		status := uintptr(0)
		if childUnshare != 0 {
			if _, _, e := unix.RawSyscall(unix.SYS_UNSHARE, childUnshare, 0, 0); e != 0 {
				status = 1
			}
		}
		_, _, _ = unix.RawSyscall(unix.SYS_EXIT_GROUP, status, 0, 0) // does not return
	}
	return int(pid), 0
}

// setnsOp moves the thread back and forth between the UTS namespace it
// started in and a new one: every call is a join.
func setnsOp() (func(int) error, error) {
	const path = "/proc/thread-self/ns/uts"
	first, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
		return nil, fmt.Errorf("unshare: %w", err)
	}
	second, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fds := [2]uintptr{uintptr(first), uintptr(second)}
	i := 0
	return func(n int) error {
		for range n {
			if _, _, errno := unix.RawSyscall(unix.SYS_SETNS, fds[i], unix.CLONE_NEWUTS, 0); errno != 0 {
				return fmt.Errorf("setns: %w", errno)
			}
			i ^= 1
		}
		return nil
	}, nil
}

func getppidOp() (func(int) error, error) {
	want := uintptr(os.Getppid())
	return func(n int) error {
		for range n {
			if ppid, _ := unix.RawSyscallNoError(unix.SYS_GETPPID, 0, 0, 0); ppid != want {
				return fmt.Errorf("getppid: %d, want %d", ppid, want)
			}
		}
		return nil
	}, nil
}

// reapChild waits for the workload's child pid, which did what, and makes
// anything but a clean exit an error.
func reapChild(pid int, what string) error {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		return fmt.Errorf("wait4: %w", err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Errorf("child %d: %s failed (wait status %#x)", pid, what, ws)
	}
	return nil
}
