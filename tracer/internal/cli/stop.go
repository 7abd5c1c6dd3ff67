package cli

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/saturate"
)

// How a stop is bounded. After a stop signal the tracer drains for the
// drain timeout, checking it between records, and Run returns within one
// event's processing. Should one event take longer (a costly rule, a stuck
// lookup), the main goroutine gives up on Run stopGrace past the timeout,
// or at a second signal, and takes the pipeline over (takeOver): the
// counts are then exact as of that moment and the trailer is written by
// this goroutine. The pipeline's lock is held only while an event is
// counted and written, never while it is enriched or checked by the rules,
// so taking it over waits for a write at most, and for no longer than
// takeOverWait: with a sink blocked for good (a full pipe nobody reads),
// nstrace exits without the trailer rather than hang. The whole stop thus
// takes the timeout plus stopGrace plus takeOverWait, under a second.
const (
	stopGrace    = 200 * time.Millisecond
	takeOverWait = 400 * time.Millisecond
)

// errSinkBlocked: the stop could not take the pipeline over in time.
var errSinkBlocked = errors.New("stopped without closing the session: an output is blocked")

// runTracer runs t until a stop signal on sigs and a bounded drain. It
// returns Run's error, nil after a takeover (the caller then holds p.mu
// for good and may close the sinks), or errSinkBlocked.
func runTracer(ctx context.Context, t *tracer.Tracer, p *pipeline.Pipeline, sigs <-chan os.Signal, drain time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := t.Run(ctx, p.Event, p.Flush)
		if err == nil {
			err = p.Finish() // what the hold-back still has
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-sigs:
	case <-ctx.Done():
	}
	cancel()
	timer := time.NewTimer(drain + stopGrace)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
	case <-sigs:
	}
	return takeOver(t, p, time.Now().Add(takeOverWait))
}

// takeOver abandons Run, closes the pipeline to it and writes the loss
// markers for what Run had not delivered or finished by now:
//   - the records still in the ring, and those Run had handed over that
//     never left the pipeline (the event being processed, those held back
//     for a name): lost at shutdown;
//   - the kernel's drops not reported yet.
//
// Run's goroutine is left running: it writes nothing more, and the process
// is about to exit.
func takeOver(t *tracer.Tracer, p *pipeline.Pipeline, by time.Time) error {
	handed, err := t.Abandon()
	if err != nil {
		return err
	}
	if !p.TakeOver(by) {
		return errSinkBlocked
	}
	s := t.Stats()
	kernel, _ := saturate.AddCount(s.RingFull, s.PendingFull)
	return p.Settle(handed, kernel, s.Shutdown, time.Now())
}
