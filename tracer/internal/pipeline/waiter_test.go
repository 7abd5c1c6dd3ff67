package pipeline

import (
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
)

// fakeWaiter awaits a name for container "c1" until answered.
type fakeWaiter struct{ answered bool }

func (f *fakeWaiter) Awaits(ev *event.Event) bool {
	return ev.Container != nil && ev.Container.ID == "c1" && ev.Container.Name == "" && !f.answered
}

func (f *fakeWaiter) Enrich(ev *event.Event) {
	if f.answered && ev.Container != nil && ev.Container.ID == "c1" {
		ev.Container = &event.Container{ID: "c1", Runtime: "docker", Name: "webfront"}
	}
}

// A waiter's pending answer holds an event as a name would: until it is
// answered, or for maxHold at most; the process's next call does not let
// it go, nor does an event of another process.
func TestAWaiterHoldsAnEventForItsAnswerWithinMaxHold(t *testing.T) {
	w := &fakeWaiter{}
	s := newHeldStream(resolve.New(nil, resolve.WithRoot(inventorytest.MountRoot(t))))
	s.h.waiters = []Waiter{w}
	in := func(pid uint32, at time.Time) *event.Event {
		return &event.Event{Time: at, Kind: event.Unshare, Pid: pid, Tid: pid, Comm: "sh",
			Container: &event.Container{ID: "c1", Runtime: "docker"},
			Changes:   []event.Change{{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532700}}}
	}
	s.event(t, in(5, t0))
	s.event(t, in(5, t0.Add(time.Millisecond)))
	s.event(t, in(6, t0.Add(2*time.Millisecond)))
	s.flush(t)
	if len(s.out) != 0 {
		t.Fatalf("%d events out before the answer or maxHold", len(s.out))
	}
	w.answered = true
	s.flush(t)
	if len(s.out) != 3 {
		t.Fatalf("%d events out after the answer, want 3", len(s.out))
	}
	for i, ev := range s.out {
		if ev.Container.Name != "webfront" {
			t.Errorf("event %d: %+v, want it named by the answer", i, ev.Container)
		}
	}

	// Never answered: the events go unnamed once maxHold of event time
	// has passed.
	w.answered = false
	s.event(t, in(7, t0.Add(time.Second)))
	s.event(t, in(7, t0.Add(time.Second+maxHold+time.Millisecond)))
	if len(s.out) != 5 || s.out[3].Container.Name != "" {
		t.Fatalf("%d events out, want 5 after maxHold, the first unnamed", len(s.out))
	}
}
