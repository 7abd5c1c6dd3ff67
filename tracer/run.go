package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nstrace/nstrace/gen"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/ring"
)

// Run delivers events to onEvent until ctx is done, then detaches every hook,
// drains what the ring still holds and returns nil. Every PollInterval, even
// while records keep coming, it reports losses and calls onIdle, if set: the
// moment to flush buffered output. The *event.Event passed to onEvent is
// reused: copy what must outlive the call. An error from a callback stops Run
// and is returned. Run may be called once.
func (t *Tracer) Run(ctx context.Context, onEvent func(*event.Event) error, onIdle func() error) error {
	stop := context.AfterFunc(ctx, func() {
		t.detach()
		t.reader.Flush()
	})
	defer stop()

	var (
		ev  event.Event
		dec decoder
	)
	deliver := func(sample []byte) error {
		if err := dec.decode(sample, &t.clock, &ev); err != nil {
			return err
		}
		t.delivered.Add(1)
		return onEvent(&ev)
	}
	deadline := time.Now().Add(t.opts.PollInterval)
	t.reader.SetDeadline(deadline)
	for {
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
		case errors.Is(err, ring.ErrFlushed):
			// Detached and drained: nothing can arrive any more.
			if err := t.reportLost(onEvent); err != nil {
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

// reportLost reads the per-CPU drop counters and, when they grew, emits one
// Lost event with the number of records dropped since the last report.
func (t *Tracer) reportLost(onEvent func(*event.Event) error) error {
	var grew uint64
	for cause := range t.lost {
		var perCPU []uint64
		if err := t.coll.Maps[gen.NstraceMapDrops].Lookup(uint32(cause), &perCPU); err != nil {
			return fmt.Errorf("read drop counters: %w", err)
		}
		var sum uint64
		for _, n := range perCPU {
			sum += n
		}
		if old := t.lost[cause].Swap(sum); sum > old {
			grew += sum - old
		}
	}
	if grew == 0 {
		return nil
	}
	return onEvent(&event.Event{Time: time.Now(), Kind: event.Lost, Lost: grew})
}
