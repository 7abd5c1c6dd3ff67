package tracer_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// generatedBy is how many records unshareBurst(n) makes: the unshares, the
// setns back and, where destroy is hooked, all but the last namespace freed.
func generatedBy(tr *tracer.Tracer, n int) uint64 {
	for _, h := range tr.Hooks() {
		if h.Name == "destroy" && h.Attached {
			return uint64(2*n + 1)
		}
	}
	return uint64(n + 1)
}

// A consumer slower than the records: once the context ends, Run drains for
// DrainTimeout, then stops within one callback and counts what it left as
// lost with cause shutdown: delivered + lost = generated, exactly. Run
// counts only once every hook is detached, which takes up to a second on
// 6.1 in make vmtest's guest (closing the links waits for RCU grace
// periods): the drain outlasts that, so the deadline is what stops Run.
func TestDrainStopsAtTheDeadlineAndCountsTheRest(t *testing.T) {
	testenv.RequireKernel(t)
	const drain, slow = 1500 * time.Millisecond, 5 * time.Millisecond
	tr, err := tracer.Open(tracer.Options{Pid: uint32(os.Getpid()), DrainTimeout: drain})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var delivered, kernelLost, shutdownLost uint64
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func(ev *event.Event) error {
			switch {
			case ev.Kind == event.Lost && ev.Cause == event.LostShutdown:
				shutdownLost += ev.Lost
			case ev.Kind == event.Lost:
				kernelLost += ev.Lost
			default:
				delivered++
				time.Sleep(slow)
			}
			return nil
		}, nil)
	}()
	unshareBurst(t, burst)
	cancel()
	stopped := time.Now()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	took := time.Since(stopped)
	if took > drain+slow+200*time.Millisecond {
		t.Errorf("Run returned %v after its context ended, drain timeout %v", took, drain)
	}
	s := tr.Stats()
	generated := generatedBy(tr, burst)
	if shutdownLost == 0 || s.Shutdown != shutdownLost || kernelLost != s.RingFull+s.PendingFull {
		t.Errorf("shutdown loss reported %d, counted %d; kernel losses reported %d, counted %d", shutdownLost, s.Shutdown, kernelLost, s.RingFull+s.PendingFull)
	}
	if delivered+s.Lost != generated || s.Events != delivered {
		t.Errorf("delivered %d (stats %d) + lost %d != generated %d", delivered, s.Events, s.Lost, generated)
	}
	t.Logf("drain of %v: %d delivered, %d left at shutdown, in %v", drain, delivered, s.Shutdown, took)
}

// A callback stuck for good: Abandon, from another goroutine, stops Run
// handing over records without waiting for it, and counts exactly what it
// left; Run hands over nothing more once the callback returns.
func TestAbandonWhileACallbackIsStuck(t *testing.T) {
	testenv.RequireKernel(t)
	tr, err := tracer.Open(tracer.Options{Pid: uint32(os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stuck, release := make(chan struct{}), make(chan struct{})
	var delivered int
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func(ev *event.Event) error {
			if ev.Kind != event.Lost {
				delivered++
			}
			if delivered == 1 {
				close(stuck)
				<-release
			}
			return nil
		}, nil)
	}()
	unshareBurst(t, burst)
	<-stuck
	cancel()
	handed, err := tr.Abandon()
	if err != nil {
		t.Fatal(err)
	}
	s := tr.Stats()
	generated := generatedBy(tr, burst)
	if handed != 1 || s.Shutdown != generated-1 || s.RingFull+s.PendingFull != 0 {
		t.Errorf("Abandon: %d handed, %d left, %d dropped; want 1, %d, 0", handed, s.Shutdown, s.RingFull+s.PendingFull, generated-1)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if delivered != 1 {
		t.Errorf("%d records delivered, want the 1 handed over before Abandon", delivered)
	}
}
