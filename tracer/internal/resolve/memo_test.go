package resolve

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
)

// What the resolver remembers of its last answers never outlives the maps:
// a namespace the sweep forgot, or a cgroup a newer inventory replaced,
// resolves as the maps say, even when the event before asked the same.
func TestMemoFollowsWhatTheMapsForget(t *testing.T) {
	const ino, userNS = 0xF0000010, 0xEFFFFFFD
	a := &event.Container{ID: "a", Runtime: "docker"}
	b := &event.Container{ID: "b", Runtime: "docker"}
	inv := &inventory.Inventory{Time: t0, Cgroups: []container.Cgroup{{ID: 5, Path: "/a", Container: a}}}
	r := New(inv, WithoutLiveLookups(), WithGracePeriod(time.Second))
	at := t0
	resolve := func(action event.Action) *event.Event {
		at = at.Add(time.Millisecond)
		ev := &event.Event{Time: at, Kind: event.Setns, Pid: 7, Tid: 7, CgroupID: 5, UserNS: userNS,
			Changes: []event.Change{{Type: event.UTS, Action: action, From: 0xEFFFFFFE, To: ino}}}
		if action == event.Create {
			ev.Kind = event.Unshare
		}
		r.Resolve(ev)
		return ev
	}
	resolve(event.Create)
	for range 2 {
		if ev := resolve(event.Join); ev.Changes[0].Owner != userNS || ev.Container != a {
			t.Fatalf("a join into the namespace made: owner %d, container %v", ev.Changes[0].Owner, ev.Container)
		}
	}
	r.merge(&inventory.Inventory{Time: at, Cgroups: []container.Cgroup{{ID: 5, Path: "/b", Container: b}}}, false)
	if ev := resolve(event.Join); ev.Container != b {
		t.Errorf("after a new inventory, container %v, want %v", ev.Container, b)
	}
	// Destroyed, then forgotten by the sweep a grace period later.
	r.Resolve(&event.Event{Time: at, Kind: event.Destroy, Changes: []event.Change{{Type: event.UTS, Action: event.ActionDestroy, To: ino}}})
	at = at.Add(3 * time.Second)
	r.Resolve(&event.Event{Time: at, Kind: event.Setns, Pid: 8, Tid: 8, CgroupID: 5,
		Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: ino, To: 0xEFFFFFFE}}})
	if _, ok := r.Lookup(event.UTS, ino); ok {
		t.Fatal("the sweep kept a namespace destroyed a grace period ago")
	}
	if ev := resolve(event.Join); ev.Changes[0].Owner != 0 {
		t.Errorf("a join into a forgotten namespace got owner %d from the memo", ev.Changes[0].Owner)
	}
}

// On a cgroup v1 host, what the memo holds of a process's container lasts
// as long as the map's entry does: procTTL, then /proc is read again.
func TestMemoKeepsTheV1ReadsTTL(t *testing.T) {
	id := inventorytest.ID("v1")
	root := v1Root(t, map[uint32]string{700: "4:memory:/docker/" + id + "\n0::/\n", 701: "4:memory:/user.slice\n0::/\n"})
	r := New(nil, WithRoot(root))
	at := t0
	containerOf := func(pid uint32) *event.Container {
		ev := &event.Event{Time: at, Kind: event.Unshare, Pid: pid, Tid: pid, CgroupID: 1}
		r.Resolve(ev)
		return ev.Container
	}
	if c := containerOf(700); c == nil || c.ID != id {
		t.Fatalf("pid 700: container %+v, want %s", c, id)
	}
	if c := containerOf(701); c != nil {
		t.Fatalf("pid 701: container %+v, want none", c)
	}
	// The process moved out of its container: seen within procTTL of the
	// last read, then after.
	if err := os.WriteFile(filepath.Join(root, "proc/700/cgroup"), []byte("4:memory:/user.slice\n0::/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		at = at.Add(procTTL / 4)
		if c := containerOf(700); c == nil || c.ID != id {
			t.Fatalf("within procTTL: container %+v, want %s", c, id)
		}
	}
	at = at.Add(procTTL)
	if c := containerOf(700); c != nil {
		t.Errorf("past procTTL: container %+v, want none", c)
	}
}
