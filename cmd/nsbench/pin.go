package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pinHarness keeps the harness, and so the tracers it starts (a child
// inherits the mask of the thread that forks it), off the workloads' CPU.
// Every thread is pinned: a CPU mask belongs to a thread, and a new thread
// inherits its creator's.
func pinHarness(workloadCPU int) error {
	if workloadCPU < 0 || runtime.NumCPU() < 2 {
		return nil
	}
	var set unix.CPUSet
	for cpu := range runtime.NumCPU() {
		if cpu != workloadCPU {
			set.Set(cpu)
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pin thread %d: %w", tid, err)
		}
	}
	return nil
}

func pinning(workloadCPU int) string {
	n := runtime.NumCPU()
	switch {
	case workloadCPU < 0:
		return fmt.Sprintf("%d CPUs, no pinning", n)
	case n < 2:
		return "1 CPU: workloads and tracers share it"
	}
	return fmt.Sprintf("%d CPUs: workloads pinned to CPU %d, tracers and harness to the others", n, workloadCPU)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
