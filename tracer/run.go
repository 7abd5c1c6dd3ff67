package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nstrace/nstrace/gen"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/ring"
	"github.com/nstrace/nstrace/tracer/internal/saturate"
)

// Run delivers events to onEvent until ctx is done, then detaches every hook,
// drains what the ring still holds for at most Options.DrainTimeout and
// returns nil. Records still in the ring when the drain runs out of time are
// counted (Stats.Shutdown) and reported in one loss marker with Cause
// event.LostShutdown. Every PollInterval, even while records keep coming, it
// reports losses and calls onIdle, if set: the moment to flush buffered
// output. The *event.Event passed to onEvent is reused: copy what must
// outlive the call. An error from a callback stops Run and is returned. Run
// may be called once.
//
// The drain deadline is checked between records, so a slow onEvent holds
// Run past it by one call at most; a caller that cannot wait even that long
// calls Abandon from another goroutine.
func (t *Tracer) Run(ctx context.Context, onEvent func(*event.Event) error, onIdle func() error) error {
	t.running.Store(true)
	defer t.running.Store(false)
	stop := context.AfterFunc(ctx, func() {
		// The drain's time starts now: detaching takes a while (fentry
		// links wait for the programs to leave).
		t.drainBy.Store(time.Now().Add(max(t.opts.DrainTimeout, 0)).UnixNano())
		t.stopMu.Lock()
		defer t.stopMu.Unlock()
		if !t.closed {
			t.detach()
			t.reader.Flush()
		}
	})
	defer stop()

	var (
		ev  event.Event
		dec decoder
	)
	deliver := func(sample []byte) error {
		if t.drainOver() {
			t.reader.Stop() // this record is handed over; none after it
		}
		if err := dec.decode(sample, &t.clock, &ev); err != nil {
			return err
		}
		t.delivered.Add(1)
		return onEvent(&ev)
	}
	deadline := time.Now().Add(t.opts.PollInterval)
	t.reader.SetDeadline(deadline)
	for {
		if t.drainOver() {
			t.reader.Stop()
		}
		_, err := t.reader.Read(deliver)
		idle := errors.Is(err, os.ErrDeadlineExceeded)
		switch {
		case err == nil || idle:
			if !idle && time.Now().Before(deadline) {
				continue
			}
			if idle {
				t.clock.sync() // not mid-burst: a step would reorder stamps
			}
			if err := t.reportLost(onEvent); err != nil {
				return err
			}
			if err := t.reportFloods(onEvent, false); err != nil {
				return err
			}
			if onIdle != nil {
				if err := onIdle(); err != nil {
					return err
				}
			}
			deadline = time.Now().Add(t.opts.PollInterval)
			t.reader.SetDeadline(deadline)
		case errors.Is(err, ring.ErrFlushed), errors.Is(err, ring.ErrStopped):
			// Detached and drained, or out of time: nothing more is read.
			if err := t.reportLost(onEvent); err != nil {
				return err
			}
			if err := t.reportShutdown(onEvent); err != nil {
				return err
			}
			if err := t.reportFloods(onEvent, true); err != nil {
				return err
			}
			if onIdle != nil {
				return onIdle()
			}
			return nil
		default:
			// An error from onEvent, returned as is, or from the ring.
			return err
		}
	}
}

// drainOver reports whether Run's context ended and the drain ran out of time.
func (t *Tracer) drainOver() bool {
	by := t.drainBy.Load()
	return by != 0 && time.Now().UnixNano() >= by
}

// reportShutdown counts what the drain left in the ring, if it was stopped,
// and emits it as one loss marker.
func (t *Tracer) reportShutdown(onEvent func(*event.Event) error) error {
	if !t.drainOver() {
		return nil
	}
	t.waitDetached()
	_, left := t.reader.Stop()
	t.shutdown.Store(uint64(left))
	if left == 0 {
		return nil
	}
	return onEvent(&event.Event{Time: time.Now(), Kind: event.Lost, Lost: uint64(left), Cause: event.LostShutdown})
}

// Abandon ends a Run that is still draining, from another goroutine and
// without waiting for it, for a caller that must exit now. It waits for the
// hooks to be detached; then Run hands over no more records, those still in
// the ring are counted in Stats.Shutdown, and the kernel's drop counters are
// read into Stats. It returns how many records Run handed to onEvent in
// all, the one onEvent may still hold included, so that the caller can
// count those it never finished. Loss markers Run has yet to deliver are
// not made: Stats has their counts.
func (t *Tracer) Abandon() (handed uint64, err error) {
	t.waitDetached()
	handed, left := t.reader.Stop()
	t.shutdown.Store(uint64(left))
	for cause := range t.lost {
		sum, err := t.readDrops(cause)
		if err != nil {
			return handed, err
		}
		t.lost[cause].Store(sum)
	}
	return handed, nil
}

// waitDetached detaches the hooks, or waits for the detach under way: once
// it returns, the ring gets no new records.
func (t *Tracer) waitDetached() {
	t.stopMu.Lock()
	defer t.stopMu.Unlock()
	t.detach()
}

// reportLost reads the per-CPU drop counters and, when they grew, emits one
// Lost event with the number of records dropped since the last report.
func (t *Tracer) reportLost(onEvent func(*event.Event) error) error {
	var grew uint64
	for cause := range t.lost {
		sum, err := t.readDrops(cause)
		if err != nil {
			return err
		}
		if old := t.lost[cause].Swap(sum); sum > old {
			grew, _ = saturate.AddCount(grew, sum-old)
		}
	}
	if grew == 0 {
		return nil
	}
	return onEvent(&event.Event{Time: time.Now(), Kind: event.Lost, Lost: grew})
}

// readDrops is how many records the programs dropped for cause, so far.
func (t *Tracer) readDrops(cause int) (uint64, error) {
	var perCPU []uint64
	if err := t.coll.Maps[gen.NstraceMapDrops].Lookup(uint32(cause), &perCPU); err != nil {
		return 0, fmt.Errorf("read drop counters: %w", err)
	}
	return sumCount(perCPU), nil
}

// sumCount adds counts up, staying at math.MaxUint64 rather than wrapping.
func sumCount(counts []uint64) uint64 {
	var sum uint64
	for _, n := range counts {
		sum, _ = saturate.AddCount(sum, n)
	}
	return sum
}
