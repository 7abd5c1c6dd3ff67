package pipeline

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
)

// netnsMount is the mountinfo line `ip netns add NAME` leaves for ino.
func netnsMount(id int, ino uint32, name string) string {
	return fmt.Sprintf("%d 22 0:4 net:[%d] /run/netns/%s rw - nsfs nsfs rw\n", id, ino, name)
}

// heldStream is a hold-back on a stopped clock, and what it let through.
type heldStream struct {
	h     *Holdback
	clock time.Time
	out   []*event.Event
}

func newHeldStream(r *resolve.Resolver) *heldStream {
	s := &heldStream{h: NewHoldback(r), clock: t0}
	s.h.now = func() time.Time { return s.clock }
	return s
}

func (s *heldStream) emit(ev *event.Event) error {
	s.out = append(s.out, ev.Clone())
	return nil
}

func (s *heldStream) event(t *testing.T, ev *event.Event) {
	t.Helper()
	ev = ev.Clone()
	s.h.r.Resolve(ev)
	if err := s.h.Event(ev, s.emit); err != nil {
		t.Fatal(err)
	}
}

func (s *heldStream) flush(t *testing.T) {
	t.Helper()
	if err := s.h.Flush(s.emit); err != nil {
		t.Fatal(err)
	}
}

// ipNetnsAdd is what `ip netns add` makes the tracer see: the create of
// net ino, then ip's setns back into the host's.
func ipNetnsAdd(pid, ino uint32, at time.Time) (create, back *event.Event) {
	create = &event.Event{Time: at, Kind: event.Unshare, Pid: pid, Tid: pid, Comm: "ip",
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: hostNet, To: ino}}}
	back = &event.Event{Time: at.Add(time.Millisecond), Kind: event.Setns, Pid: pid, Tid: pid, Comm: "ip",
		Changes: []event.Change{{Type: event.Net, Action: event.Join, From: ino, To: hostNet}}}
	return create, back
}

// An idle stream (the tracer flushes every 50 ms) must not let a held
// create go before its name is mounted: it waits for the name, up to
// maxHold of wall time.
func TestAnIdleFlushWaitsForTheNameOfAHeldCreate(t *testing.T) {
	root := inventorytest.MountRoot(t)
	s := newHeldStream(resolve.New(nil, resolve.WithRoot(root)))
	create, _ := ipNetnsAdd(10, 4026532950, t0)
	s.event(t, create)
	s.clock = s.clock.Add(maxHold / 2)
	s.flush(t)
	if len(s.out) != 0 {
		t.Fatalf("released before the name was mounted or maxHold passed: %+v", s.out[0])
	}
	inventorytest.WriteMountinfo(t, root, netnsMount(43, 4026532950, "blue"))
	s.flush(t)
	if len(s.out) != 1 || s.out[0].Changes[0].Name != "blue" {
		t.Fatalf("after the mount: %d events out, want the create named blue", len(s.out))
	}

	// No name ever: the create goes once maxHold has passed, unnamed.
	other, _ := ipNetnsAdd(11, 4026532951, t0)
	s.event(t, other)
	s.flush(t)
	if len(s.out) != 1 {
		t.Fatal("released at once")
	}
	s.clock = s.clock.Add(maxHold + time.Millisecond)
	s.flush(t)
	if len(s.out) != 2 || s.out[1].Changes[0].Name != "" {
		t.Fatalf("%d events out, want the unnamed create after maxHold", len(s.out))
	}

	// The end of the stream lets everything go.
	third, _ := ipNetnsAdd(12, 4026532952, t0)
	s.event(t, third)
	if err := s.h.Drain(s.emit); err != nil || len(s.out) != 3 {
		t.Fatalf("Drain: %v, %d events out, want 3", err, len(s.out))
	}
}

// Two tracers read the same `ip netns add` sequence at different times
// relative to the mounts and to their idle flushes: one reads each create
// before ip mounts its name (and flushes while waiting), the other reads
// everything after. They must name every event alike: every create and
// the later joins carry the name.
func TestTwoTracersNameTheSameIPNetnsAddsAlike(t *testing.T) {
	root := inventorytest.MountRoot(t)
	early := newHeldStream(resolve.New(nil, resolve.WithRoot(root)))
	late := newHeldStream(resolve.New(nil, resolve.WithRoot(root)))
	var stream []*event.Event
	var mounts strings.Builder
	for i := range uint32(20) {
		ino := 4026533000 + i
		create, back := ipNetnsAdd(100+i, ino, t0.Add(time.Duration(i)*10*time.Millisecond))
		early.event(t, create)
		early.flush(t) // the idle tick between unshare and mount
		mounts.WriteString(netnsMount(50+int(i), ino, fmt.Sprintf("ns%d", i)))
		inventorytest.WriteMountinfo(t, root, mounts.String())
		early.event(t, back)
		early.flush(t)
		exec := &event.Event{Time: back.Time.Add(time.Millisecond), Kind: event.Setns, Pid: 200 + i, Tid: 200 + i,
			Comm: "ip", Changes: []event.Change{{Type: event.Net, Action: event.Join, From: hostNet, To: ino}}}
		early.event(t, exec)
		stream = append(stream, create, back, exec)
	}
	for _, ev := range stream {
		late.event(t, ev)
		late.flush(t)
	}
	if err := late.h.Drain(late.emit); err != nil {
		t.Fatal(err)
	}
	if len(early.out) != len(stream) || !reflect.DeepEqual(early.out, late.out) {
		t.Fatalf("the two tracers differ:\n early %s\n  late %s", names(early.out), names(late.out))
	}
	for i, ev := range early.out {
		c := ev.Changes[0]
		want := fmt.Sprintf("ns%d", i/3)
		if c.To == hostNet {
			want = ""
		}
		if c.Name != want {
			t.Errorf("event %d (%s %s %d): name %q, want %q", i, ev.Kind, c.Action, c.To, c.Name, want)
		}
	}
}

func names(evs []*event.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s:%q ", ev.Kind, ev.Changes[0].Name)
	}
	return b.String()
}

// t0 is when the tests' events happen.
var t0 = time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)

// hostNet is the host's net namespace in the tests' events.
const hostNet = 4026531833
