package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/nstrace/nstrace/gen"

	"github.com/nstrace/nstrace/tracer/event"
)

// Run delivers events to onEvent until ctx is done, then detaches every hook,
// drains what the ring still holds and returns nil. onIdle, if set, is called
// whenever the ring runs dry, at most PollInterval apart: the moment to flush
// buffered output. The *event.Event passed to onEvent is reused: copy what
// must outlive the call. An error from a callback stops Run and is returned.
// Run may be called once.
func (t *Tracer) Run(ctx context.Context, onEvent func(*event.Event) error, onIdle func() error) error {
	stop := context.AfterFunc(ctx, func() {
		t.detach()
		t.reader.Flush()
	})
	defer stop()

	var (
		rec ringbuf.Record
		ev  event.Event
		dec decoder
	)
	t.reader.SetDeadline(time.Now().Add(t.opts.PollInterval))
	for {
		err := t.reader.ReadInto(&rec)
		switch {
		case err == nil:
			if err := dec.decode(rec.RawSample, &t.clock, &ev); err != nil {
				return err
			}
			t.delivered.Add(1)
			if err := onEvent(&ev); err != nil {
				return err
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.clock.sync()
			if err := t.reportLost(onEvent); err != nil {
				return err
			}
			if onIdle != nil {
				if err := onIdle(); err != nil {
					return err
				}
			}
			t.reader.SetDeadline(time.Now().Add(t.opts.PollInterval))
		case errors.Is(err, ringbuf.ErrFlushed):
			// Detached and drained: nothing can arrive any more.
			if err := t.reportLost(onEvent); err != nil {
				return err
			}
			if onIdle != nil {
				return onIdle()
			}
			return nil
		default:
			return fmt.Errorf("read ring buffer: %w", err)
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
