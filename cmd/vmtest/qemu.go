package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/nstrace/nstrace/cmd/vmtest/internal/guest"
)

// machine is how the guest is booted.
type machine struct {
	arch           arch
	kernel, initrd string
	mem            string
	cpus           int
	accel          string // QEMU -accel: tcg or kvm
	cmdline        string // appended to the kernel command line
	timeout        time.Duration
}

// qemuArgs is the QEMU command line. The guest powers itself off when the
// test ends; panic=-1 with -no-reboot turns a crash into QEMU exiting too.
func (m machine) qemuArgs() []string {
	args := []string{"-nodefaults", "-display", "none", "-no-reboot"}
	args = append(args, m.arch.machine...)
	args = append(args, "-accel", m.accel)
	// Software emulation on a busy host starves vCPUs for seconds (seen:
	// the text patching of a tracepoint attach waiting on the other vCPU),
	// which the soft-lockup and RCU-stall detectors take for hangs. They
	// are off; a real hang ends at the timeout instead.
	cmdline := "console=" + m.arch.console + " panic=-1 quiet nowatchdog rcupdate.rcu_cpu_stall_suppress=1"
	if m.cmdline != "" {
		cmdline += " " + m.cmdline
	}
	return append(args,
		"-cpu", m.arch.cpu,
		"-m", m.mem,
		"-smp", strconv.Itoa(m.cpus),
		"-serial", "stdio",
		"-kernel", m.kernel,
		"-initrd", m.initrd,
		"-append", cmdline,
	)
}

// boot runs the guest to the end, streaming its console to stdout, and
// returns nil if the test passed or its exitStatus if it failed.
func boot(ctx context.Context, m machine) error {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.arch.qemu, m.qemuArgs()...)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	console, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	fmt.Printf("vmtest: booting %s (%s, %d CPUs, accel %s, timeout %v)\n", m.kernel, m.mem, m.cpus, m.accel, m.timeout)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", m.arch.qemu, err)
	}
	status, reported := stream(console, os.Stdout)
	err = cmd.Wait()
	took := time.Since(start).Round(time.Millisecond)

	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("guest timed out after %v", m.timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("guest stopped: %w", ctx.Err())
	case err != nil:
		return fmt.Errorf("%s: %w", m.arch.qemu, err)
	case !reported:
		return fmt.Errorf("guest stopped after %v without reporting the test's status (crashed?)", took)
	}
	fmt.Printf("vmtest: guest ran %v\n", took)
	if status != 0 {
		return exitStatus(status)
	}
	return nil
}

// stream copies the console to w line by line, dropping the serial
// line's carriage returns, and returns the last status the guest reported.
func stream(console io.Reader, w io.Writer) (status int, reported bool) {
	r := bufio.NewReader(console)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			line = strings.TrimRight(line, "\r\n")
			fmt.Fprintln(w, line)
			if s, ok := guest.ParseExitLine(line); ok {
				status, reported = s, true
			}
		}
		if err != nil {
			return status, reported
		}
	}
}
