package tracer_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// An unprivileged process is denied unshare and setns: both are events with
// EPERM, no changes, and for setns the namespace the fd referred to.
func TestDeniedUnshareAndSetnsAreEventsWithEPERM(t *testing.T) {
	hostNet, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer hostNet.Close()
	netIno := fdInode(t, int(hostNet.Fd()))
	c := startCapture(t, tracer.Options{})
	cmd, r := runHelperProcess(t, "denied", func(cmd *exec.Cmd) {
		cmd.ExtraFiles = []*os.File{hostNet}
	})
	if len(r.Errors) != 2 || r.Errors[0] != "EPERM" || r.Errors[1] != "EPERM" {
		t.Fatalf("helper saw %v, want [EPERM EPERM]", r.Errors)
	}
	evs := where(c.stop(t), byPid(cmd.Process.Pid))
	if len(evs) != 2 {
		t.Fatalf("got %d events of the helper, want 2", len(evs))
	}
	un, set := evs[0], evs[1]
	if un.Kind != event.Unshare || un.Errno != unix.EPERM || un.Flags != unix.CLONE_NEWNET || un.UID != 65534 || len(un.Changes) != 0 || un.Target != nil {
		t.Errorf("unshare event = %s", un.AppendJSON(nil))
	}
	if set.Kind != event.Setns || set.Errno != unix.EPERM || set.Flags != unix.CLONE_NEWNET || set.UID != 65534 || len(set.Changes) != 0 {
		t.Errorf("setns event = %s", set.AppendJSON(nil))
	}
	if set.Target == nil || *set.Target != (event.Target{Type: event.Net, Inode: netIno}) {
		t.Errorf("setns target = %+v, want net %d", set.Target, netIno)
	}
}

// Ordinary process creation (os/exec's vfork-style clone, a plain fork)
// emits nothing at all.
func TestOrdinaryForksEmitNothing(t *testing.T) {
	c := startCapture(t, tracer.Options{})
	cmd, _ := runHelperProcess(t, "forks", nil)
	pid := cmd.Process.Pid
	evs := where(c.stop(t), func(ev *event.Event) bool {
		return (ev.Pid == uint32(pid) || ev.Ppid == uint32(pid)) && ev.Kind != event.Destroy
	})
	for _, ev := range evs {
		t.Errorf("unexpected event: %s", ev.AppendJSON(nil))
	}
}

const burst = 2000

// unshareBurst unshares a UTS namespace n times on one thread, then setns's
// back to where it started (so the last namespace dies there and then, not
// at some thread exit later). It returns the thread's id and the inodes it
// went through (before, then each new one).
func unshareBurst(t testing.TB, n int) (int, []uint32) {
	t.Helper()
	var tid int
	inodes := make([]uint32, 0, n+1)
	err := onLockedThread(func(id int) error {
		tid = id
		orig, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(orig)
		for i := 0; i <= n; i++ {
			ino, err := nsInode("/proc/thread-self/ns/uts")
			if err != nil {
				return err
			}
			inodes = append(inodes, ino)
			if i < n {
				if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
					return err
				}
			}
		}
		return unix.Setns(orig, unix.CLONE_NEWUTS)
	})
	if err != nil {
		t.Fatalf("unshare burst: %v", err)
	}
	return tid, inodes
}

// A burst of 2000 unshares from one thread of this multi-threaded process:
// every event arrives, in order, naming that thread, and nothing is lost.
func TestBurstOfUnsharesDeliversEveryEvent(t *testing.T) {
	c := startCapture(t, tracer.Options{Pid: uint32(os.Getpid())})
	tid, inodes := unshareBurst(t, burst)
	evs := c.stop(t)
	if s := c.tr.Stats(); s.Lost != 0 {
		t.Errorf("lost %d events", s.Lost)
	}
	mine := where(evs, func(ev *event.Event) bool { return byTid(tid)(ev) && ev.Kind == event.Unshare })
	if len(mine) != burst {
		t.Fatalf("got %d events of thread %d, want %d", len(mine), tid, burst)
	}
	for i, ev := range mine {
		if ev.Kind != event.Unshare || ev.Pid != uint32(os.Getpid()) {
			t.Fatalf("event %d: %s", i, ev.AppendJSON(nil))
		}
		wantChanges(t, ev, event.Change{Type: event.UTS, Action: event.Create, From: inodes[i], To: inodes[i+1]})
	}
}

// With a one-page ring and a consumer stalled until the burst is over, most
// records cannot be queued: past the ring's headroom they are counted in
// flood records, and what still finds no room is counted lost:
// generated = delivered + flooded + lost, exactly.
// Without flood accounting (FloodRate < 0) they are all counted lost.
func TestStalledConsumerLosesNothingUncounted(t *testing.T) {
	testenv.RequireKernel(t)
	t.Run("flood accounting", func(t *testing.T) { stalledConsumer(t, 0) })
	t.Run("no flood accounting", func(t *testing.T) { stalledConsumer(t, -1) })
}

func stalledConsumer(t *testing.T, floodRate int) {
	tr, err := tracer.Open(tracer.Options{Pid: uint32(os.Getpid()), RingSize: os.Getpagesize(), FloodRate: floodRate})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	destroyAttached := false
	for _, h := range tr.Hooks() {
		destroyAttached = destroyAttached || h.Name == "destroy" && h.Attached
	}
	var delivered, lostReported, flooded uint64
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func(ev *event.Event) error {
			<-release
			switch ev.Kind {
			case event.Unshare, event.Setns, event.Destroy:
				delivered++
			case event.Lost:
				lostReported += ev.Lost
			case event.Flood:
				flooded += ev.Count
			}
			return nil
		}, nil)
	}()
	unshareBurst(t, burst)
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The unshares and the setns back; where destroy is hooked, each of
	// those but the first also frees the namespace made before it.
	generated := uint64(burst + 1)
	if destroyAttached {
		generated += burst
	}
	s := tr.Stats()
	if floodRate < 0 && (flooded != 0 || s.Lost == 0) {
		t.Errorf("without flood accounting: %d flooded, %d lost; want 0 and some", flooded, s.Lost)
	}
	if s.Lost+flooded == 0 || delivered == 0 {
		t.Errorf("want both delivered and undelivered records, got %d and %d lost, %d flooded", delivered, s.Lost, flooded)
	}
	if delivered+flooded+s.Lost != generated || lostReported != s.Lost || s.RingFull != s.Lost || s.Flooded != flooded {
		t.Errorf("delivered %d + flooded %d (stats %d) + lost %d (reported %d, ring full %d) != generated %d",
			delivered, flooded, s.Flooded, s.Lost, lostReported, s.RingFull, generated)
	}
	t.Logf("one-page ring, stalled consumer: %d delivered, %d flooded, %d lost", delivered, flooded, s.Lost)
}
