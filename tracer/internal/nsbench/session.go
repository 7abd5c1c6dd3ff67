package nsbench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readyTimeout bounds how long a tracer may take to attach its probes.
const readyTimeout = 60 * time.Second

// pollInterval is how often readiness is checked: fine enough to time it.
const pollInterval = time.Millisecond

// A session is one running tracer, from start until it is stopped.
type session struct {
	cmd        *exec.Cmd
	events     string        // the file its events land in
	stderr     bytes.Buffer  // nstrace's notes and summary, bpftrace's warnings
	ready      time.Duration // from start until every probe was attached
	cpuAtReady time.Duration // the tracer's CPU time (every thread) once ready
	exited     chan struct{} // closed once the process has exited
	err        error         // from Wait, valid once exited is closed
}

// startSession starts cmd; isReady is polled until it reports true.
func startSession(cmd *exec.Cmd, events string, isReady func(*session) (bool, error)) (*session, error) {
	s := &session{cmd: cmd, events: events, exited: make(chan struct{})}
	if cmd.Stderr == nil {
		cmd.Stderr = &s.stderr
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	deadline := time.After(readyTimeout)
	for {
		ok, err := isReady(s)
		if err != nil {
			s.kill()
			return nil, err
		}
		if ok {
			s.ready = time.Since(start)
			s.cpuAtReady = threadsCPU(cmd.Process.Pid)
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s exited before it was ready (%v): %s",
				filepath.Base(cmd.Path), s.err, bytes.TrimSpace(s.stderr.Bytes()))
		case <-deadline:
			s.kill()
			return nil, fmt.Errorf("%s not ready after %v", filepath.Base(cmd.Path), readyTimeout)
		case <-tick.C:
		}
	}
}

func (s *session) pid() int { return s.cmd.Process.Pid }

// cpuSinceReady is the CPU time the tracer spent from ready until it
// exited: reading, decoding and writing events, and its shutdown drain.
// Valid once stopped.
func (s *session) cpuSinceReady() time.Duration {
	st := s.cmd.ProcessState
	if st == nil {
		return 0
	}
	return st.UserTime() + st.SystemTime() - s.cpuAtReady
}

// threadsCPU adds up the time on CPU of pid's threads (the first field of
// each /proc/PID/task/TID/schedstat, in ns); 0 where unreadable.
func threadsCPU(pid int) time.Duration {
	paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var total time.Duration
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err == nil {
			total += time.Duration(ns)
		}
	}
	return total
}

// stop interrupts the tracer, as Ctrl-C would, and waits for it to drain
// and exit.
func (s *session) stop() error {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.exited:
	case <-time.After(readyTimeout):
		s.kill()
		return fmt.Errorf("%s did not exit after SIGINT", filepath.Base(s.cmd.Path))
	}
	if s.err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(s.cmd.Path), s.err, bytes.TrimSpace(s.stderr.Bytes()))
	}
	return nil
}

func (s *session) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL) // fails only once it has exited, which is awaited next
	<-s.exited
}

// fileExists is the ready-file check.
func fileExists(path string) func(*session) (bool, error) {
	return func(*session) (bool, error) {
		_, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
}
