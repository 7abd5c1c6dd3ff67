package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// Kernel tests of bounded stops: nstrace records only this test process
// (--pid), slowed by --test-event-delay, after a burst of unshares it made.

// unshareBurst makes n UTS namespaces one after the other on a throwaway
// thread of this process, then goes back: n+1 namespace events.
func unshareBurst(t *testing.T, n int) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		orig, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(orig)
		for range n {
			if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
				errc <- err
				return
			}
		}
		errc <- unix.Setns(orig, unix.CLONE_NEWUTS)
	}()
	if err := <-errc; err != nil {
		t.Fatalf("unshare burst: %v", err)
	}
}

// sessionCount is what a session file holds, as counted by reading it.
type sessionCount struct {
	events          uint64            // event lines
	lost            map[string]uint64 // loss markers by cause ("" for the kernel's)
	trailer         *struct{ Events, Lost uint64 }
	destroyAttached bool
}

func readSessionCount(t *testing.T, path string) sessionCount {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := sessionCount{lost: map[string]uint64{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Event  string
			Count  uint64
			Cause  string
			Events uint64
			Lost   uint64
			Hooks  []struct {
				Name     string
				Attached bool
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Bytes())
		}
		if rec.trailer != nil {
			t.Fatalf("%s: a line after the trailer: %s", path, sc.Bytes())
		}
		switch l.Event {
		case "session":
			for _, h := range l.Hooks {
				rec.destroyAttached = rec.destroyAttached || h.Name == "destroy" && h.Attached
			}
		case "lost":
			rec.lost[l.Cause] += l.Count
		case "end":
			rec.trailer = &struct{ Events, Lost uint64 }{l.Events, l.Lost}
		case "seal": // the hash chain every recording carries
		default:
			rec.events++
		}
	}
	if rec.trailer == nil {
		t.Fatalf("%s has no trailer", path)
	}
	return rec
}

// checkStop checks a stopped recorder: exit 0 within limit of the signal,
// a trailer that agrees with the file, every one of the generated records
// either recorded or counted lost, some of them at shutdown, and the
// summary line saying so.
func checkStop(t *testing.T, r *recorder, file string, n int, signalled time.Time, limit time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("nstrace still running %v after the stop signal", limit+5*time.Second)
	}
	took := time.Since(signalled)
	r.mu.Lock()
	stderr := r.stderr.String()
	r.mu.Unlock()
	if code := r.cmd.ProcessState.ExitCode(); code != 0 || took > limit {
		t.Errorf("exit status %d after %v, want 0 within %v; stderr:\n%s", code, took.Round(time.Millisecond), limit, stderr)
	}
	rec := readSessionCount(t, file)
	var lost uint64
	for _, n := range rec.lost {
		lost += n
	}
	generated := uint64(n + 1)
	if rec.destroyAttached {
		generated += uint64(n)
	}
	if rec.trailer.Events != rec.events || rec.trailer.Lost != lost {
		t.Errorf("trailer says %d events, %d lost; the file holds %d events, %d lost", rec.trailer.Events, rec.trailer.Lost, rec.events, lost)
	}
	if rec.events+lost != generated || rec.lost["shutdown"] == 0 {
		t.Errorf("%d recorded + %d lost (%v) != %d generated, or none lost at shutdown", rec.events, lost, rec.lost, generated)
	}
	summary := fmt.Sprintf("nstrace: %d events, %d lost (%d at shutdown)\n", rec.events, lost, rec.lost["shutdown"])
	if !strings.Contains(stderr, summary) {
		t.Errorf("stderr lacks %q:\n%s", summary, stderr)
	}
	t.Logf("stopped in %v: %d recorded, %d lost at shutdown, %d dropped by the kernel", took.Round(time.Millisecond), rec.events, rec.lost["shutdown"], rec.lost[""])
}

// A consumer far slower than the records: SIGINT, and nstrace drains for
// --drain-timeout, counts the rest as lost at shutdown, writes the trailer
// and exits 0, within the timeout and a second.
func TestStopDrainsForTheTimeoutOnly(t *testing.T) {
	const n = 300
	file := filepath.Join(t.TempDir(), "slow.jsonl")
	r := startRecorder(t, "-q", "-w", file, "--pid", strconv.Itoa(os.Getpid()),
		"--drain-timeout", "1s", "--test-event-delay", "20ms")
	unshareBurst(t, n)
	signalled := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	checkStop(t, r, file, n, signalled, 2*time.Second)
}

// A second signal ends the drain at once, the trailer still written.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	const n = 300
	file := filepath.Join(t.TempDir(), "twice.jsonl")
	r := startRecorder(t, "-q", "-w", file, "--pid", strconv.Itoa(os.Getpid()),
		"--drain-timeout", "60s", "--test-event-delay", "20ms")
	unshareBurst(t, n)
	signalled := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	checkStop(t, r, file, n, signalled, time.Second)
}

// One event whose processing takes longer than the whole timeout: nstrace
// does not wait for it. The event it was on counts as lost at shutdown.
func TestStopDoesNotWaitForAStuckEvent(t *testing.T) {
	const n = 20
	file := filepath.Join(t.TempDir(), "stuck.jsonl")
	r := startRecorder(t, "-q", "-w", file, "--pid", strconv.Itoa(os.Getpid()),
		"--drain-timeout", "500ms", "--test-event-delay", "1m")
	unshareBurst(t, n)
	signalled := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	checkStop(t, r, file, n, signalled, 1500*time.Millisecond)
}

// Output to a pipe nobody reads: the event being written blocks for good,
// so the stop cannot take the pipeline over. nstrace says so in one line
// and exits 1 within the bound, rather than hang; what it recorded before
// is whole records.
func TestStopWithABlockedOutputExitsInTime(t *testing.T) {
	testenv.RequireKernel(t)
	dir := t.TempDir()
	file, ready := filepath.Join(dir, "blocked.jsonl"), filepath.Join(dir, "ready")
	cmd := exec.Command(binary, "trace", "-w", file, "--pid", strconv.Itoa(os.Getpid()),
		"--drain-timeout", "500ms", "--ready-file", ready)
	stdout, err := cmd.StdoutPipe() // never read
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done }) // it may have exited already
	br := bufio.NewReader(errp)
	readStarted(t, br)
	var rest []byte
	go func() {
		defer close(done)
		rest, _ = io.ReadAll(br)
		_ = cmd.Wait() // the exit status is read from ProcessState below
	}()
	unshareBurst(t, 3000) // far more text than a pipe holds
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("nstrace still running 10 s after the stop signal")
	}
	took := time.Since(signalled)
	want := "nstrace: stopped without closing the session: an output is blocked\n"
	if code := cmd.ProcessState.ExitCode(); code != 1 || string(rest) != want || took > 1500*time.Millisecond {
		t.Errorf("exit status %d after %v, stderr %q; want 1 within 1.5s and %q", code, took.Round(time.Millisecond), rest, want)
	}
	b, err := os.ReadFile(file)
	if err != nil || len(b) == 0 || b[len(b)-1] != '\n' {
		t.Errorf("session file of %d bytes (%v) does not end in a whole record", len(b), err)
	}
}
