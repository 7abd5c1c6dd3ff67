package nsbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// childCommand is the hidden subcommand that runs one workload.
const childCommand = "workload"

// childReport is what a workload child prints on stdout.
type childReport struct {
	Ops     int64   `json:"ops"`
	Seconds float64 `json:"seconds"`
}

func (r childReport) opsPerSec() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Seconds
}

// runChild runs a workload for a while on one CPU and reports what it did.
func runChild(args []string) error {
	fs := flag.NewFlagSet(childCommand, flag.ContinueOnError)
	name := fs.String("name", "", "workload name")
	duration := fs.Duration("duration", time.Second, "how long to run")
	cpu := fs.Int("cpu", -1, "pin the workload to this CPU; -1: do not pin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w, ok := findWorkload(*name)
	if !ok {
		return fmt.Errorf("unknown workload %q", *name)
	}
	// Namespace changes and the CPU mask belong to a thread: keep ours.
	runtime.LockOSThread()
	if *cpu >= 0 {
		var set unix.CPUSet
		set.Set(*cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pin to CPU %d: %w", *cpu, err)
		}
	}
	op, err := w.setup()
	if err != nil {
		return err
	}
	var ops int64
	start := time.Now()
	for time.Since(start) < *duration {
		if err := op(w.batch); err != nil {
			return err
		}
		ops += int64(w.batch)
	}
	r := childReport{Ops: ops, Seconds: time.Since(start).Seconds()}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// child is a workload process started by the harness.
type child struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// startChild re-executes this program as a workload child.
func startChild(self string, w workload, duration time.Duration, cpu int) (*child, error) {
	c := &child{cmd: exec.Command(self, childCommand, "-name", w.Name,
		"-duration", duration.String(), "-cpu", strconv.Itoa(cpu))}
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = os.Stderr
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start workload %s: %w", w.Name, err)
	}
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// wait returns the child's report once it exits.
func (c *child) wait() (childReport, error) {
	var r childReport
	if err := c.cmd.Wait(); err != nil {
		return r, fmt.Errorf("workload %s: %w", c.cmd.Args[3], err)
	}
	if err := json.Unmarshal(c.out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("workload report %q: %w", c.out.Bytes(), err)
	}
	if r.Ops == 0 {
		return r, errors.New("workload did nothing")
	}
	return r, nil
}
