package pipeline

import (
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
)

// Holdback delays the stream briefly behind an event that created a net
// namespace without a name yet, so `ip netns add blue` reads as created net
// "blue": the name is mounted just after the unshare returns. The event and
// all that follow it (order is kept) are released as soon as the creating
// process makes its next call (ip's setns back comes after the mount), when
// events show maxHold passed, or when the queue is full: all points in the
// event stream, so two tracers reading the same events name them alike. An
// idle stream releases them once the name is there or maxHold of wall time
// has passed.
//
// An enricher that asks in the background (runtime identity) is a Waiter:
// an event it awaits a label for is held the same way, released by the
// same bounds, but not by its process's next call (which says nothing
// about the runtime's answer), and it never holds the events behind it
// longer than their own hold-back would.
type Holdback struct {
	r       *resolve.Resolver
	waiters []Waiter
	queue   []event.Event // copies; their Changes arrays are reused
	n       int
	pid     uint32    // the process whose next call releases the queue
	byPid   bool      // the head awaits a name, which its process's next call releases
	since   time.Time // when the held event happened
	heldAt  time.Time // when it was held, by the wall clock
	now     func() time.Time
}

const (
	maxHeld = 1024
	maxHold = 100 * time.Millisecond
)

// Waiter is an enricher that asks for labels in the background.
type Waiter interface {
	// Awaits reports whether an answer for ev is being asked for.
	Awaits(ev *event.Event) bool
	// Enrich labels ev with what has been answered.
	Enrich(ev *event.Event)
}

// NewHoldback returns a holdback that names events with r, and waits for
// the waiters' labels too.
func NewHoldback(r *resolve.Resolver, waiters ...Waiter) *Holdback {
	return &Holdback{r: r, waiters: waiters, now: time.Now}
}

// awaits reports whether ev waits for a name or a waiter's label.
func (h *Holdback) awaits(ev *event.Event) bool {
	if h.r.AwaitsName(ev) {
		return true
	}
	for _, w := range h.waiters {
		if w.Awaits(ev) {
			return true
		}
	}
	return false
}

// relabel names ev and adds the waiters' labels, as far as known now.
func (h *Holdback) relabel(ev *event.Event) {
	if h.r.AwaitsName(ev) {
		h.r.Rename(ev)
	}
	for _, w := range h.waiters {
		w.Enrich(ev)
	}
}

// Event passes ev on to emit, now or after the events held before it. ev is
// not kept: what is held is a copy.
func (h *Holdback) Event(ev *event.Event, emit func(*event.Event) error) error {
	if h.n == 0 {
		if !h.awaits(ev) {
			return emit(ev)
		}
		h.start(ev)
		h.hold(ev)
		return nil
	}
	h.hold(ev)
	if h.byPid && ev.Pid == h.pid || ev.Time.Sub(h.since) > maxHold || h.n == maxHeld {
		return h.release(emit, false)
	}
	return nil
}

// Flush releases what is held if the name it waits for is there or it has
// waited maxHold: call it when the stream is idle.
func (h *Holdback) Flush(emit func(*event.Event) error) error {
	if h.n == 0 {
		return nil
	}
	if h.now().Sub(h.heldAt) <= maxHold {
		if h.relabel(&h.queue[0]); h.awaits(&h.queue[0]) {
			return nil
		}
	}
	return h.release(emit, false)
}

// Drain names as well as it can and releases everything held: call it at
// the end of the stream.
func (h *Holdback) Drain(emit func(*event.Event) error) error {
	return h.release(emit, true)
}

// release names and emits the held events in order. Unless all, it stops
// at a later event that awaits a name of its own and holds on from there.
func (h *Holdback) release(emit func(*event.Event) error, all bool) error {
	for i := 0; i < h.n; i++ {
		ev := &h.queue[i]
		h.relabel(ev)
		if i > 0 && !all && h.r.AwaitsName(ev) {
			h.keepFrom(i)
			return nil
		}
		if err := emit(ev); err != nil {
			h.keepFrom(i + 1)
			return err
		}
	}
	h.n = 0
	return nil
}

// keepFrom drops the events before i from the queue and holds on behind
// event i, if any is left.
func (h *Holdback) keepFrom(i int) {
	for j := i; j < h.n; j++ {
		// Swap, so every slot keeps a Changes array of its own.
		h.queue[j-i], h.queue[j] = h.queue[j], h.queue[j-i]
	}
	h.n -= i
	if h.n > 0 {
		h.start(&h.queue[0])
	}
}

// start holds on behind ev.
func (h *Holdback) start(ev *event.Event) {
	h.pid, h.since, h.heldAt = ev.Pid, ev.Time, h.now()
	h.byPid = h.r.AwaitsName(ev)
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
