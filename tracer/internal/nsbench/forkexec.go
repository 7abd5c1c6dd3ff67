package nsbench

import (
	"fmt"
	"os/exec"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// forkExecOp forks and execs true(1) in the child, which exits at once:
// the cost of nstrace's exec hook (and of process identity) on the most
// common way programs start, with no namespace change.
func forkExecOp() (func(int) error, error) {
	prog, err := exec.LookPath("true")
	if err != nil {
		return nil, fmt.Errorf("fork-exec: %w", err)
	}
	path, err := unix.BytePtrFromString(prog)
	if err != nil {
		return nil, err
	}
	arg0, err := unix.BytePtrFromString("true")
	if err != nil {
		return nil, err
	}
	argv := []*byte{arg0, nil}
	envp := []*byte{nil}
	return func(n int) error {
		for range n {
			pid, errno := rawForkExec(path, &argv[0], &envp[0])
			if errno != 0 {
				return fmt.Errorf("clone: %w", errno)
			}
			if err := reapChild(pid, "exec "+prog); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// rawForkExec is rawFork whose child execs path: raw system calls only, on
// argument arrays built before the fork.
//
//go:nosplit
func rawForkExec(path *byte, argv, envp **byte) (int, syscall.Errno) {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	if pid == 0 {
		_, _, _ = unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(argv)),
			uintptr(unsafe.Pointer(envp)))
		_, _, _ = unix.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0) // does not return
	}
	return int(pid), 0
}
