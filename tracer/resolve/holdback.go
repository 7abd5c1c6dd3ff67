package resolve

import (
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// Holdback delays the stream briefly behind an event that created a net
// namespace without a name yet, so `ip netns add blue` reads as created net
// "blue": the name is mounted just after the unshare returns. The event and
// all that follow it (order is kept) are released as soon as the creating
// process makes its next call (ip's setns back comes after the mount), when
// the stream goes idle, after maxHold, or when the queue is full.
type Holdback struct {
	r     *Resolver
	queue []event.Event // copies; their Changes arrays are reused
	n     int
	pid   uint32    // the process whose next call releases the queue
	since time.Time // when the held event happened
}

const (
	maxHeld = 1024
	maxHold = 100 * time.Millisecond
)

// NewHoldback returns a holdback that names events with r.
func NewHoldback(r *Resolver) *Holdback { return &Holdback{r: r} }

// Event passes ev on to emit, now or after the events held before it. ev is
// not kept: what is held is a copy.
func (h *Holdback) Event(ev *event.Event, emit func(*event.Event) error) error {
	if h.n == 0 {
		if !h.r.AwaitsName(ev) {
			return emit(ev)
		}
		h.pid, h.since = ev.Pid, ev.Time
		h.hold(ev)
		return nil
	}
	h.hold(ev)
	if ev.Pid == h.pid || ev.Time.Sub(h.since) > maxHold || h.n == maxHeld {
		return h.Flush(emit)
	}
	return nil
}

// Flush names and releases everything held. Call it when the stream is idle.
func (h *Holdback) Flush(emit func(*event.Event) error) error {
	n := h.n
	h.n = 0
	for i := range n {
		ev := &h.queue[i]
		if h.r.AwaitsName(ev) {
			h.r.Rename(ev)
		}
		if err := emit(ev); err != nil {
			return err
		}
	}
	return nil
}

// hold copies ev into the queue, reusing the slot's Changes array.
func (h *Holdback) hold(ev *event.Event) {
	if h.n == len(h.queue) {
		h.queue = append(h.queue, event.Event{})
	}
	slot := &h.queue[h.n]
	changes := append(slot.Changes[:0], ev.Changes...)
	*slot = *ev
	slot.Changes = changes
	if ev.Target != nil {
		t := *ev.Target
		slot.Target = &t
	}
	h.n++
}
