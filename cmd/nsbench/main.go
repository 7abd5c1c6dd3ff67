// Command nsbench measures what tracing namespaces costs the traced.
//
// It runs the workloads of the "Speed" issue (fork, fork + unshare, clone
// with CLONE_NEWUTS, setns churn, an unrelated syscall) in child processes
// pinned to one CPU: untraced, under `nstrace trace -o json` writing to a
// file, under `nstrace trace -q -w FILE` when this nstrace lists -w, and
// under bpftrace running peer.bt, an equivalent script, when bpftrace is
// installed. Columns alternate round by round, and the table reports the
// median ops/s, the slowdown against the untraced runs, the events each
// tracer delivered for the workload's processes against the operations
// made, and what it said it lost. Then it times start → ready, follows
// nstrace's memory over millions of events, and reads the kernel's
// per-program cost of the setns churn. Last, it measures the recorder's
// CPU per record without seals, with the hash chain and with a sealing
// key, and times `nstrace report` on synthetic sessions of 1 M and 6 M
// events, drawing each page in headless chromium (-only picks sections).
//
// It needs root. `make bench` builds nstrace and runs it; by hand:
//
//	go build -o nstrace ./cmd/nstrace && go run ./cmd/nsbench [-rounds 3] [-duration 400ms] [-json]
//
// The numbers are a run's, on its machine: tests never assert them.
package main

import (
	"os"

	"github.com/nstrace/nstrace/tracer/command"
)

func main() { os.Exit(command.Nsbench()) }
