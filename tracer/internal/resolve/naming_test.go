package resolve

import (
	"fmt"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
)

func noFacts(string, event.NsType, uint32, func(inventory.Key) bool) []inventory.Facts { return nil }

// netnsMount is the mountinfo line `ip netns add NAME` leaves for ino.
func netnsMount(id int, ino uint32, name string) string {
	return fmt.Sprintf("%d 22 0:4 net:[%d] /run/netns/%s rw - nsfs nsfs rw\n", id, ino, name)
}

// `ip netns add X; ip netns del X` read late: the mount is gone by the
// time the create is read, yet the name seen while it was mounted is
// given, to the namespace with the mount's 64-bit id only.
func TestANameStaysWithItsNamespaceAfterTheUnmount(t *testing.T) {
	root := inventorytest.MountRoot(t)
	const ino, id = 4026532960, 7001
	probe := func(string, event.NsType, uint32, func(inventory.Key) bool) []inventory.Facts {
		return []inventory.Facts{{Type: event.Net, Inode: ino, NsID: id}}
	}
	r := New(nil, WithRoot(root), withProbe(probe))
	inventorytest.WriteMountinfo(t, root, netnsMount(43, ino, "brief"))
	r.Inventory() // reads the table, as the mount watcher would
	inventorytest.WriteMountinfo(t, root, "")
	r.Inventory()
	for _, tt := range []struct {
		nsid uint64
		want string
	}{{id, "brief"}, {id + 1, ""}} {
		ev := &event.Event{Time: t0, Kind: event.Unshare, Pid: 10, Tid: 10, Comm: "ip",
			Changes: []event.Change{{Type: event.Net, Action: event.Create, From: inventorytest.HostNet, To: ino, NsID: tt.nsid}}}
		r.Resolve(ev)
		if got := ev.Changes[0].Name; got != tt.want {
			t.Errorf("ns_id %d: name %q, want %q", tt.nsid, got, tt.want)
		}
	}
}

// Creates and joins read no mount table while it does not change: one
// read at start, one after each change.
func TestEventsReadTheMountTableOnlyAfterItChanged(t *testing.T) {
	root := inventorytest.MountRoot(t)
	r := New(nil, WithRoot(root), withProbe(noFacts))
	reads := func() int { return r.self.Reads() }
	if n := reads(); n != 1 {
		t.Fatalf("%d reads at start, want 1", n)
	}
	at := t0
	for i := range uint32(1000) {
		at = at.Add(time.Millisecond)
		typ := event.UTS
		if i%2 == 0 {
			typ = event.Net
		}
		r.Resolve(&event.Event{Time: at, Kind: event.Unshare, Pid: 10, Tid: 10, Comm: "flood",
			Changes: []event.Change{{Type: typ, Action: event.Create, To: 4026540000 + i}}})
		r.Resolve(&event.Event{Time: at, Kind: event.Setns, Pid: 11, Tid: 11, Comm: "flood",
			Changes: []event.Change{{Type: typ, Action: event.Join, From: inventorytest.HostNet, To: 4026540000 + i}}})
	}
	if n := reads(); n != 1 {
		t.Errorf("%d reads after 2000 events and no mount change, want 1", n)
	}
	inventorytest.WriteMountinfo(t, root, netnsMount(43, 4026540000, "blue"))
	join := &event.Event{Time: at.Add(time.Second), Kind: event.Setns, Pid: 11, Tid: 11, Comm: "ip",
		Changes: []event.Change{{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026540000}}}
	r.Resolve(join)
	if n := reads(); n != 2 || join.Changes[0].Name != "blue" {
		t.Errorf("after a mount: %d reads and the join named %q, want 2 and blue", n, join.Changes[0].Name)
	}
}
