// Command flooder makes namespace events as fast as one thread can, for the
// flood-fairness tests: unshare(CLONE_NEWUTS) in a loop for a while, and
// optionally, halfway, a setns into the net namespace at a path. It prints
// what it did as JSON: the tests compare it with what nstrace delivered.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

type report struct {
	Pid    int    `json:"pid"`
	Tid    int    `json:"tid"`
	Calls  uint64 `json:"calls"`  // unshare calls made, failed ones included
	Failed uint64 `json:"failed"` // of which failed
	Joined bool   `json:"joined"` // the setns of -join succeeded
}

func main() {
	dur := flag.Duration("for", 2*time.Second, "how long to flood")
	join := flag.String("join", "", "halfway, setns into the net namespace at this path")
	flag.Parse()
	if err := run(*dur, *join); err != nil {
		fmt.Fprintln(os.Stderr, "flooder:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, join string) error {
	runtime.LockOSThread()
	// A thread sharing its fs_struct cannot unshare some namespaces.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	joinFd := -1
	if join != "" {
		fd, err := unix.Open(join, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", join, err)
		}
		joinFd = fd
	}
	r := report{Pid: os.Getpid(), Tid: unix.Gettid()}
	start := time.Now()
	for {
		for range 256 {
			if unix.Unshare(unix.CLONE_NEWUTS) != nil {
				r.Failed++
			}
			r.Calls++
		}
		since := time.Since(start)
		if joinFd >= 0 && since >= dur/2 {
			if err := unix.Setns(joinFd, unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("setns %s: %w", join, err)
			}
			r.Joined = true
			unix.Close(joinFd)
			joinFd = -1
		}
		if since >= dur {
			break
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}
