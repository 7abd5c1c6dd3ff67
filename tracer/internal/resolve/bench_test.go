package resolve

import (
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
)

// knownEvent is the common case on the hot path: a setns into namespaces
// the resolver knows, by a process whose cgroup id it has seen.
func knownEvent(tb testing.TB) (*Resolver, *event.Event) {
	r := fakeResolver(tb, inventorytest.Scan(tb))
	ev := &event.Event{Time: t0, Kind: event.Setns, Pid: 300, Tid: 300, Comm: "nsenter",
		CgroupID: dockerCgroupID(tb), Changes: []event.Change{
			{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532177},
			{Type: event.PidForChildren, Action: event.Join, From: inventorytest.HostPid, To: 4026532304},
			{Type: event.UTS, Action: event.Join, From: 4026532302, To: inventorytest.HostUTS},
		}}
	r.Resolve(ev) // the first event sweeps once
	return r, ev
}

func unresolve(ev *event.Event) {
	ev.Container = nil
	for i := range ev.Changes {
		c := &ev.Changes[i]
		c.Name, c.Host, c.Owner, c.Container, c.NsID = "", false, 0, nil, 0
	}
}

func TestResolveAllocatesNothingForKnownNamespaces(t *testing.T) {
	r, ev := knownEvent(t)
	allocs := testing.AllocsPerRun(1000, func() {
		unresolve(ev)
		r.Resolve(ev)
	})
	if allocs != 0 {
		t.Errorf("Resolve allocates %v times per event", allocs)
	}
	if ev.Changes[0].Name != "sample1" || ev.Container == nil {
		t.Errorf("not resolved: %+v", ev)
	}
}

func BenchmarkResolve(b *testing.B) {
	r, ev := knownEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		unresolve(ev)
		r.Resolve(ev)
	}
}

// BenchmarkResolveCreate is a create flood: a new namespace every event,
// past the cap on namespaces remembered, as unshare(CLONE_NEWUTS) in a
// loop makes.
func BenchmarkResolveCreate(b *testing.B) {
	r := fakeResolver(b, inventorytest.Scan(b))
	ev := &event.Event{Kind: event.Unshare, Pid: 4242, Tid: 4242, Comm: "flood", UID: 65534,
		UserNS: inventorytest.HostUser, Changes: make([]event.Change, 1)}
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		i++
		ev.Time, ev.Container = t0.Add(time.Duration(i)*time.Microsecond), nil
		ev.Changes = append(ev.Changes[:0], event.Change{Type: event.UTS, Action: event.Create,
			From: 0xF0000000 + i - 1, To: 0xF0000000 + i, NsID: 1<<40 + uint64(i)})
		r.Resolve(ev)
	}
}
