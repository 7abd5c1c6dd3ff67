package resolve

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// heldNetns starts `unshare --net` holding a new net namespace until the
// test ends, and returns its pid once it is in it.
func heldNetns(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("unshare", "--net", "sh", "-c", "read x")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() }) // reaps only; exits on EOF
	pid := cmd.Process.Pid
	self := testenv.NsInode(t, "/proc/self/ns/net")
	deadline := time.Now().Add(5 * time.Second)
	for {
		// unshare execs sh in the new namespace under the same pid.
		if target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net"); err == nil {
			if _, ino, ok := procfs.ParseNsLink(target); ok && ino != self {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare --net did not enter a new namespace within 5s")
		}
		time.Sleep(time.Millisecond) // polling, bounded above
	}
}

// A net namespace bind-mounted long after its create (`ip netns attach`)
// is named in the inventory at once and at its next event; the create
// itself, read before the mount, stays unnamed.
func TestKernelANetnsAttachedLateIsNamedInTheInventoryAndAtItsNextEvent(t *testing.T) {
	requireRoot(t, "unshare", "ip")
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := New(inv)
	pid := heldNetns(t)
	link := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	ino, id := testenv.NsInode(t, link), kernelNsID(t, link)
	hostNet := testenv.NsInode(t, "/proc/self/ns/net")
	create := &event.Event{Time: time.Now(), Kind: event.Unshare, Pid: uint32(pid), Tid: uint32(pid), Comm: "unshare",
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: hostNet, To: ino, NsID: id}}}
	r.Resolve(create)
	if c := create.Changes[0]; c.Name != "" {
		t.Fatalf("named %q before any mount", c.Name)
	}

	name := "nstrace-late-" + strconv.Itoa(os.Getpid())
	run(t, "ip", "netns", "attach", name, strconv.Itoa(pid))
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() }) // cleanup only

	n := mustFind(t, r.Inventory(), event.Net, ino)
	if n.Name() != name || len(n.Mounts) != 1 || n.Mounts[0] != "/run/netns/"+name {
		t.Errorf("inventory: names %q mounts %q, want %q at /run/netns/%s", n.Names, n.Mounts, name, name)
	}
	join := &event.Event{Time: time.Now(), Kind: event.Setns, Pid: 1, Tid: 1, Comm: "nsenter",
		Changes: []event.Change{{Type: event.Net, Action: event.Join, From: hostNet, To: ino, NsID: id}}}
	r.Resolve(join)
	if c := join.Changes[0]; c.Name != name {
		t.Errorf("join: name %q, want %q", c.Name, name)
	}
}

// The mount watcher learns a name while it is mounted, between two events:
// `ip netns attach X; ip netns del X` and only then the events.
func TestKernelTheMountWatcherLearnsANameThatIsGoneByTheNextEvent(t *testing.T) {
	requireRoot(t, "unshare", "ip")
	r := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.WatchMounts(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchMounts: %v", err)
		}
	})
	pid := heldNetns(t)
	link := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	ino, id := testenv.NsInode(t, link), kernelNsID(t, link)
	if id == 0 {
		t.Skip("no NS_GET_ID (Linux < 6.18): a name is kept past its unmount only with 64-bit ids")
	}
	name := "nstrace-brief-" + strconv.Itoa(os.Getpid())
	run(t, "ip", "netns", "attach", name, strconv.Itoa(pid))
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() }) // cleanup only
	// Other tests may mount too: wait for this mount, not any change.
	seen := func() bool {
		found := false
		r.self.Lookup(inventory.KeyOf(event.Net, ino), id, func(string) { found = true })
		return found
	}
	deadline := time.Now().Add(5 * time.Second)
	for !seen() {
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not see the mount within 5s")
		}
		time.Sleep(time.Millisecond) // polling, bounded above
	}
	run(t, "ip", "netns", "delete", name)

	create := &event.Event{Time: time.Now(), Kind: event.Unshare, Pid: uint32(pid), Tid: uint32(pid), Comm: "unshare",
		Changes: []event.Change{{Type: event.Net, Action: event.Create, To: ino, NsID: id}}}
	r.Resolve(create)
	if c := create.Changes[0]; c.Name != name {
		t.Errorf("create read after the unmount: name %q, want %q", c.Name, name)
	}
}
