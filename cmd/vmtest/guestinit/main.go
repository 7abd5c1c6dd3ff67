// Command guestinit is the /init of a vmtest guest. It mounts the file
// systems a BPF test needs, runs the test as a child process, prints the
// child's exit status on the console in the form the host looks for, and
// powers the machine off.
//
// The test runs as a child, not in this process, because cilium/ebpf reads
// /proc/self/mountinfo once and caches the answer: anything that touches
// BPF must start after /proc is mounted.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/cmd/vmtest/internal/guest"
)

// statusInitFailed is reported when the init could not run the test at all.
const statusInitFailed = 125

// mounts are done in order, each after the one holding its mount point.
// No flags: the guest is thrown away, and tests may exec or mknod anywhere.
var mounts = []struct{ fstype, target string }{
	{"proc", "/proc"},
	{"sysfs", "/sys"},
	{"devtmpfs", "/dev"},
	{"tmpfs", "/tmp"},
	{"tmpfs", "/run"},
	{"tracefs", "/sys/kernel/tracing"},
	{"debugfs", "/sys/kernel/debug"},
	{"bpf", "/sys/fs/bpf"},
	{"cgroup2", "/sys/fs/cgroup"},
}

func main() {
	status, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmtest: init: %v\n", err)
		status = statusInitFailed
	}
	fmt.Println(guest.ExitLine(status))
	unix.Sync()
	// Should this fail, init exits, the kernel panics and, booted with
	// panic=-1 under -no-reboot, QEMU stops all the same.
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(os.Stderr, "vmtest: init: power off: %v\n", err)
	}
}

func run() (int, error) {
	if err := leaveInitramfs(); err != nil {
		return 0, err
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return 0, fmt.Errorf("mount %s: %w", m.target, err)
		}
		if err := unix.Mount(m.fstype, m.target, m.fstype, 0, ""); err != nil {
			return 0, fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}

	cfg, err := readConfig()
	if err != nil {
		return 0, err
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return 0, fmt.Errorf("uname: %w", err)
	}
	fmt.Printf("vmtest: guest kernel %s, running %q\n", unix.ByteSliceToString(uts.Release[:]), cfg.Args)

	cmd := exec.Command(cfg.Args[0], cfg.Args[1:]...)
	cmd.Env = cfg.Env
	cmd.Dir = cfg.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(time.Millisecond)

	var exit *exec.ExitError
	switch {
	case err == nil:
		fmt.Printf("vmtest: test passed in %v\n", took)
		return 0, nil
	case errors.As(err, &exit):
		ws := exit.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			fmt.Printf("vmtest: test killed by signal %d (%v) after %v\n", int(ws.Signal()), ws.Signal(), took)
			return 128 + int(ws.Signal()), nil
		}
		fmt.Printf("vmtest: test failed with status %d after %v\n", ws.ExitStatus(), took)
		return ws.ExitStatus(), nil
	default:
		return 0, fmt.Errorf("run %s: %w", cfg.Args[0], err)
	}
}

func readConfig() (guest.Config, error) {
	var cfg guest.Config
	b, err := os.ReadFile(guest.ConfigPath)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("parse config %s: %w", guest.ConfigPath, err)
	}
	if len(cfg.Args) == 0 {
		return cfg, fmt.Errorf("config %s names no program", guest.ConfigPath)
	}
	return cfg, nil
}
