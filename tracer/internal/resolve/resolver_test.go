package resolve

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
)

var t0 = time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)

// fakeResolver is a live resolver on the fake tree.
func fakeResolver(t testing.TB, inv *inventory.Inventory, opts ...Option) *Resolver {
	return New(inv, append([]Option{WithRoot(inventorytest.Root), withProbe(inventorytest.Prober(t))}, opts...)...)
}

func withProbe(p inventory.Prober) Option { return func(o *options) { o.probe = p } }

func dockerCgroupID(t testing.TB) uint64 {
	var st unix.Stat_t
	p := filepath.Join(inventorytest.Root, "sys/fs/cgroup/system.slice/docker-"+inventorytest.ID("docker")+".scope")
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestResolveLabelsKnownNamespaces(t *testing.T) {
	r := fakeResolver(t, inventorytest.Scan(t))
	docker := &event.Container{ID: inventorytest.ID("docker"), Runtime: "docker"}
	ev := &event.Event{Time: t0, Kind: event.Setns, Pid: 300, Tid: 300, Comm: "nsenter",
		CgroupID: dockerCgroupID(t), Changes: []event.Change{
			{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532177},
			{Type: event.PidForChildren, Action: event.Join, From: inventorytest.HostPid, To: 4026532304},
			{Type: event.UTS, Action: event.Join, From: 4026532302, To: inventorytest.HostUTS},
		}}
	r.Resolve(ev)
	want := []event.Change{
		{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532177, NsID: 4101, Name: "sample1", Owner: inventorytest.HostUser},
		{Type: event.PidForChildren, Action: event.Join, From: inventorytest.HostPid, To: 4026532304, NsID: 5005,
			Owner: inventorytest.HostUser, Container: docker},
		{Type: event.UTS, Action: event.Join, From: 4026532302, To: inventorytest.HostUTS, NsID: 1, Host: true, Owner: inventorytest.HostUser},
	}
	if !reflect.DeepEqual(ev.Changes, want) {
		t.Errorf("changes\n got %+v\nwant %+v", ev.Changes, want)
	}
	if !reflect.DeepEqual(ev.Container, docker) {
		t.Errorf("process container = %+v, want %+v", ev.Container, docker)
	}
	// ContainerOf says what Lookup says of the container, known or not.
	for _, c := range []struct {
		t     event.NsType
		inode uint32
		known bool
		want  *event.Container
	}{{event.Pid, 4026532304, true, docker}, {event.Net, 4026532177, true, nil}, {event.Net, 4026539999, false, nil}} {
		got, ok := r.ContainerOf(c.t, c.inode)
		n, lok := r.Lookup(c.t, c.inode)
		if ok != c.known || lok != ok || !reflect.DeepEqual(got, c.want) || got != n.Container {
			t.Errorf("ContainerOf(%s, %d) = %+v, %v; want %+v, %v as Lookup (%+v, %v)", c.t, c.inode, got, ok, c.want, c.known, n.Container, lok)
		}
	}
}

func TestResolveKeepsWhatTheEventAlreadySays(t *testing.T) {
	r := fakeResolver(t, inventorytest.Scan(t))
	ctr := &event.Container{ID: "recorded"}
	ev := &event.Event{Time: t0, Kind: event.Setns, Container: ctr, Changes: []event.Change{
		{Type: event.Net, Action: event.Join, To: 4026532177, NsID: 77, Name: "recorded", Container: ctr}}}
	r.Resolve(ev)
	if c := ev.Changes[0]; c.Name != "recorded" || c.NsID != 77 || c.Container != ctr || ev.Container != ctr {
		t.Errorf("resolution overwrote recorded fields: %+v", c)
	}
}

func TestCreateRecordsTheCreatorAndOwnership(t *testing.T) {
	r := fakeResolver(t, inventorytest.Scan(t))
	ev := &event.Event{Time: t0, Kind: event.Unshare, Pid: 4242, Tid: 4242, Comm: "unshare", UID: 1000,
		CgroupID: dockerCgroupID(t), Changes: []event.Change{
			{Type: event.User, Action: event.Create, From: inventorytest.HostUser, To: 4026532900},
			{Type: event.Net, Action: event.Create, From: inventorytest.HostNet, To: 4026532901},
			{Type: event.PidForChildren, Action: event.Create, From: inventorytest.HostPid, To: 4026532902},
		}}
	r.Resolve(ev)
	docker := &event.Container{ID: inventorytest.ID("docker"), Runtime: "docker"}
	for _, c := range ev.Changes {
		if c.Container == nil || *c.Container != *docker || c.Host {
			t.Errorf("%s: container %+v host %v, want the creator's container", c.Type, c.Container, c.Host)
		}
	}
	if got := [3]uint32{ev.Changes[0].Owner, ev.Changes[1].Owner, ev.Changes[2].Owner}; got != [3]uint32{inventorytest.HostUser, 4026532900, 4026532900} {
		t.Errorf("owners = %d, want the parent user ns, then the new one", got)
	}
	n, ok := r.Lookup(event.Pid, 4026532902)
	want := &inventory.Creator{Pid: 4242, Comm: "unshare", UID: 1000, Syscall: "unshare", Time: t0}
	if !ok || !reflect.DeepEqual(n.Creator, want) || n.Parent != inventorytest.HostPid {
		t.Errorf("pid namespace = %+v (creator %+v), want creator %+v and parent %d", n, n.Creator, want, inventorytest.HostPid)
	}
	if n, _ := r.Lookup(event.User, 4026532900); n.Parent != inventorytest.HostUser {
		t.Errorf("user namespace parent = %d, want %d", n.Parent, inventorytest.HostUser)
	}
	r.Resolve(&event.Event{Time: t0, Kind: event.Clone, Pid: 4300, Tid: 4300, Ppid: 4299, Comm: "runc:[1:CHILD]",
		Changes: []event.Change{{Type: event.UTS, Action: event.Create, From: inventorytest.HostUTS, To: 4026532903}}})
	if n, _ := r.Lookup(event.UTS, 4026532903); n.Creator == nil || n.Creator.Pid != 4299 || n.Creator.Syscall != "clone" {
		t.Errorf("clone creator = %+v, want the parent 4299", n.Creator)
	}
}

func TestANameMountedAfterTheCreateIsFoundAtTheFirstJoin(t *testing.T) {
	root := inventorytest.MountRoot(t)
	r := New(nil, WithRoot(root), withProbe(func(string, event.NsType, uint32, func(inventory.Key) bool) []inventory.Facts { return nil }))
	create := &event.Event{Time: t0, Kind: event.Unshare, Pid: 10, Tid: 10, Comm: "ip",
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: inventorytest.HostNet, To: 4026532950}}}
	r.Resolve(create)
	if create.Changes[0].Name != "" {
		t.Fatalf("named before the mount exists: %q", create.Changes[0].Name)
	}
	inventorytest.WriteMountinfo(t, root, "43 22 0:4 net:[4026532950] /run/netns/blue rw - nsfs nsfs rw\n")
	join := &event.Event{Time: t0.Add(time.Millisecond), Kind: event.Setns, Pid: 11, Tid: 11, Comm: "ip",
		Changes: []event.Change{{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532950}}}
	r.Resolve(join)
	if join.Changes[0].Name != "blue" {
		t.Errorf("join name = %q, want blue", join.Changes[0].Name)
	}
}

func TestAMountOfAReusedInodeDoesNotNameANewNamespace(t *testing.T) {
	// sample1 (ns_id 4101) is mounted at inode 4026532177. Events arrive
	// late: a create for a namespace that had that inode before, or has it
	// now, must only take the name if the 64-bit ids agree.
	for _, tt := range []struct {
		nsid uint64
		want string
	}{{999, ""}, {4101, "sample1"}, {0, "sample1"}} {
		r := fakeResolver(t, nil)
		ev := &event.Event{Time: t0, Kind: event.Unshare, Pid: 4242, Tid: 4242, Comm: "ip",
			Changes: []event.Change{{Type: event.Net, Action: event.Create, From: inventorytest.HostNet, To: 4026532177, NsID: tt.nsid}}}
		r.Resolve(ev)
		if got := ev.Changes[0].Name; got != tt.want {
			t.Errorf("ns_id %d: name %q, want %q", tt.nsid, got, tt.want)
		}
	}
}

func TestAJoinIntoAReusedInodeDropsTheOldLabels(t *testing.T) {
	r := New(inventorytest.Scan(t), WithoutLiveLookups())
	ev := &event.Event{Time: t0, Kind: event.Setns, Changes: []event.Change{
		{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532177, NsID: 999}}}
	r.Resolve(ev)
	if c := ev.Changes[0]; c.Name != "" || c.Owner != 0 {
		t.Errorf("labels of the inode's previous namespace: %+v", c)
	}
}

func TestAJoinIntoAnUnknownNamespaceLooksItUp(t *testing.T) {
	r := fakeResolver(t, nil)
	ev := &event.Event{Time: t0, Kind: event.Setns, Pid: 370, Tid: 370,
		Changes: []event.Change{
			{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532177},
			{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532373},
		}}
	r.Resolve(ev)
	if c := ev.Changes[0]; c.Name != "sample1" {
		t.Errorf("mount lookup: name = %q, want sample1", c.Name)
	}
	if c := ev.Changes[1]; c.NsID != 5003 || c.Owner != 4026532372 {
		t.Errorf("nsfs lookup: ns_id %d owner %d, want 5003 and 4026532372", c.NsID, c.Owner)
	}
	if n, ok := r.Lookup(event.User, 4026532371); !ok || n.Parent != inventorytest.HostUser {
		t.Errorf("the owner's ancestors were not learnt: %+v", n)
	}
}

func TestAReplayElsewhereLabelsAsTheLiveRunDid(t *testing.T) {
	inv := inventorytest.Scan(t)
	live := fakeResolver(t, inv)
	carried := inventorytest.ThroughJSON(t, inv)
	replay := New(carried, WithoutLiveLookups(), WithRoot(t.TempDir()))
	events := []event.Event{
		{Time: t0, Kind: event.Clone, Pid: 900, Tid: 900, Ppid: 300, CgroupID: dockerCgroupID(t), Changes: []event.Change{
			{Type: event.Pid, Action: event.Join, From: 4026532304, To: 4026532304}}},
		{Time: t0, Kind: event.Setns, Pid: 1, Tid: 1, Changes: []event.Change{
			{Type: event.Net, Action: event.Join, From: inventorytest.HostNet, To: 4026532178},
			{Type: event.Mnt, Action: event.Join, From: inventorytest.HostMnt, To: 4026532316},
			{Type: event.User, Action: event.Join, From: inventorytest.HostUser, To: 4026532372},
			{Type: event.IPC, Action: event.Join, From: inventorytest.HostIPC, To: inventorytest.HostIPC}}},
		{Time: t0, Kind: event.Unshare, Pid: 5, Tid: 5, Changes: []event.Change{
			{Type: event.User, Action: event.Create, From: inventorytest.HostUser, To: 4026532990},
			{Type: event.UTS, Action: event.Create, From: inventorytest.HostUTS, To: 4026532991}}},
		{Time: t0, Kind: event.Setns, Pid: 6, Tid: 6, Changes: []event.Change{
			{Type: event.UTS, Action: event.Join, From: inventorytest.HostUTS, To: 4026532991}}},
	}
	for i := range events {
		a, b := events[i].Clone(), events[i].Clone()
		live.Resolve(a)
		replay.Resolve(b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("event %d\n live %+v\nreplay %+v", i, a, b)
		}
	}
}

func TestADestroyedNamespaceIsForgottenAfterTheGracePeriod(t *testing.T) {
	inv := inventorytest.Scan(t)
	t0 := inv.Time
	r := New(inv, WithoutLiveLookups(), WithGracePeriod(time.Minute))
	gone := &event.Event{Time: t0, Kind: event.Destroy, Changes: []event.Change{
		{Type: event.Net, Action: event.ActionDestroy, To: 4026532177}}}
	r.Resolve(gone)
	if gone.Changes[0].Name != "sample1" {
		t.Errorf("the destroy event itself lost its label: %+v", gone.Changes[0])
	}
	r.Resolve(&event.Event{Time: t0.Add(30 * time.Second), Kind: event.Setns})
	if _, ok := r.Lookup(event.Net, 4026532177); !ok {
		t.Error("forgotten within the grace period")
	}
	r.Resolve(&event.Event{Time: t0.Add(3 * time.Minute), Kind: event.Setns})
	if _, ok := r.Lookup(event.Net, 4026532177); ok {
		t.Error("still remembered after the grace period")
	}
	if _, ok := r.Lookup(event.Net, inventorytest.HostNet); !ok {
		t.Error("a live namespace was forgotten")
	}
}

func TestRefreshForgetsNamespacesThatDied(t *testing.T) {
	r := fakeResolver(t, inventorytest.Scan(t), WithGracePeriod(time.Nanosecond))
	r.Resolve(&event.Event{Time: time.Now().Add(-time.Hour), Kind: event.Unshare, Pid: 7, Tid: 7,
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: inventorytest.HostNet, To: 4026532999}}})
	for range 2 {
		if err := r.Refresh(); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := r.Lookup(event.Net, 4026532999); ok {
		t.Error("a namespace no scan finds is still remembered")
	}
	if n, ok := r.Lookup(event.Net, 4026532177); !ok || n.Name() != "sample1" {
		t.Error("a live namespace was forgotten")
	}
}

func TestChurnStaysBounded(t *testing.T) {
	r := New(nil, WithoutLiveLookups(), WithMaxNamespaces(100))
	for i := range uint32(10000) {
		r.Resolve(&event.Event{Time: t0.Add(time.Duration(i)), Kind: event.Unshare, Changes: []event.Change{
			{Type: event.Net, Action: event.Create, From: inventorytest.HostNet, To: 4026540000 + i}}})
	}
	if n := len(r.Inventory().Namespaces); n > 100 {
		t.Errorf("%d namespaces remembered, want at most 100", n)
	}
	if _, ok := r.Lookup(event.Net, 4026540000+9999); !ok {
		t.Error("the newest namespace was forgotten")
	}
}

func TestRefreshNeedsLiveLookups(t *testing.T) {
	if err := New(nil, WithoutLiveLookups()).Refresh(); err != ErrNotLive {
		t.Errorf("Refresh = %v, want ErrNotLive", err)
	}
}

func TestResolveRacesNeitherRefreshNorInventory(t *testing.T) {
	r, ev := knownEvent(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if err := r.Refresh(); err != nil {
				t.Error(err)
			}
			_ = r.Inventory()
		}
	}()
	for range 2000 {
		e := ev.Clone()
		unresolve(e)
		r.Resolve(e)
	}
	<-done
}

// The kernel reports a destroyed inode without its type: a known namespace
// gets its type back, an inode that is no namespace we know is dropped.
func TestADestroyedInodeIsTypedFromTheInventoryOrDropped(t *testing.T) {
	inv := &inventory.Inventory{Namespaces: []inventory.Namespace{{Type: event.UTS, Inode: 4026532400}}}
	r := New(inv, WithoutLiveLookups())
	ev := &event.Event{Time: t0, Kind: event.Destroy, Changes: []event.Change{
		{Type: event.NsType(event.NumNsTypes), Action: event.ActionDestroy, To: 4026532400},
		{Type: event.NsType(event.NumNsTypes), Action: event.ActionDestroy, To: 4026532999},
	}}
	r.Resolve(ev)
	if len(ev.Changes) != 1 || ev.Changes[0].Type != event.UTS || ev.Changes[0].To != 4026532400 {
		t.Errorf("changes %+v, want one uts change for 4026532400", ev.Changes)
	}
}

// Past the cap, namespaces are forgotten down to half of it, exactly, even
// when many were last seen at the same moment (by one scan); gone ones go
// first, the newest stays.
func TestPastTheCapTheOldestAreForgottenDownToHalf(t *testing.T) {
	inv := &inventory.Inventory{Time: t0}
	for i := range uint32(200) {
		inv.Namespaces = append(inv.Namespaces, inventory.Namespace{Type: event.UTS, Inode: 4026540000 + i})
	}
	r := New(inv, WithoutLiveLookups(), WithMaxNamespaces(100))
	r.Resolve(&event.Event{Time: t0.Add(time.Second), Kind: event.Destroy, Changes: []event.Change{
		{Type: event.UTS, Action: event.ActionDestroy, To: 4026540199}}})
	if n := len(r.Inventory().Namespaces); n != 50 {
		t.Errorf("%d namespaces remembered, want 50", n)
	}
	if _, ok := r.Lookup(event.UTS, 4026540199); ok {
		t.Error("a gone namespace outlived live ones")
	}
	r.Resolve(&event.Event{Time: t0.Add(2 * time.Second), Kind: event.Unshare, Changes: []event.Change{
		{Type: event.UTS, Action: event.Create, From: inventorytest.HostUTS, To: 4026550000}}})
	if _, ok := r.Lookup(event.UTS, 4026550000); !ok {
		t.Error("the newest namespace was forgotten")
	}
}
