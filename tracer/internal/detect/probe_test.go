package detect

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/caps"
)

// fakeProc makes root/proc/TID/ns with the given links, as the kernel
// shows them ("mnt:[4026531832]").
func fakeProc(t *testing.T, root string, tid uint32, links map[event.NsType]uint32) {
	t.Helper()
	dir := filepath.Join(root, "proc", fmt.Sprint(tid), "ns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for ty, ino := range links {
		p := filepath.Join(dir, ty.String())
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.Symlink(fmt.Sprintf("%s:[%d]", ty, ino), p); err != nil {
			t.Fatal(err)
		}
	}
}

// Under setns churn with flood accounting on, each join into the host's uts
// disagrees with where the task was last seen and resets it: its mount
// namespace is read from /proc again only for an event that happened after
// the last reading, which an earlier event's reading tells as well.
func TestProbeReusedForEarlierEvents(t *testing.T) {
	root := t.TempDir()
	const tid = 30
	fakeProc(t, root, tid, map[event.NsType]uint32{event.Mnt: 7000, event.Pid: hostPid, event.IPC: hostIPC})
	d := New(nil, WithInventory(hostInventory()), WithProc(root), WithoutFolding())
	churn := func(at time.Time) int {
		ev := &event.Event{Time: at, Kind: event.Setns, Pid: tid, Tid: tid, Ppid: 1, Comm: "x",
			Changes: []event.Change{join(event.UTS, 7002, hostUTS)}}
		n := 0
		for _, a := range d.Check(ev) {
			if a.Rule == RuleHostNamespaceEntry {
				n++
			}
		}
		return n
	}
	past := time.Now().Add(-time.Second)
	if n := churn(past); n != 1 {
		t.Fatalf("in a private mount namespace (read from /proc): %d alerts, want 1", n)
	}
	// The task moves back to the host's mount namespace, unseen.
	fakeProc(t, root, tid, map[event.NsType]uint32{event.Mnt: hostMnt})
	if n := churn(past.Add(time.Microsecond)); n != 1 {
		t.Errorf("an event from before the reading: %d alerts, want 1 (the reading reused)", n)
	}
	if n := churn(time.Now().Add(time.Second)); n != 0 {
		t.Errorf("an event from after the reading: %d alerts, want 0 (/proc read again)", n)
	}
	if n := churn(time.Now().Add(2 * time.Second)); n != 0 {
		t.Errorf("the next one: %d alerts, want 0", n)
	}
}

// A task that is gone by the time its event is read (a short-lived child
// that created a namespace and exited) costs one failed read of /proc, not
// one per identity namespace; a live task's are all read. A create no rule
// could alert on (by root with CAP_SYS_ADMIN, no user namespace) reads
// nothing.
func TestProbeOfGoneTaskReadsOnce(t *testing.T) {
	root := t.TempDir()
	const live, gone = 40, 41
	fakeProc(t, root, live, map[event.NsType]uint32{event.Mnt: 7000, event.Pid: 7001, event.IPC: 7003})
	reads := 0
	defer func(f func(string, uint32, event.NsType) uint32) { readNsInode = f }(readNsInode)
	read := readNsInode
	readNsInode = func(root string, tid uint32, ty event.NsType) uint32 {
		reads++
		return read(root, tid, ty)
	}
	d := New(nil, WithInventory(hostInventory()), WithProc(root), WithoutFolding())
	for _, c := range []struct {
		tid       uint32
		wantReads int
		uid       uint32
		caps      uint64
	}{{gone, 0, 0, caps.SysAdminMask}, {live, 0, 0, caps.SysAdminMask}, {gone, 1, 1000, 0}, {live, 3, 1000, 0}} {
		reads = 0
		d.Check(&event.Event{Time: time.Now(), Kind: event.Unshare, Pid: c.tid, Tid: c.tid, Ppid: 1, Comm: "x",
			UID: c.uid, HasCreds: true, Caps: c.caps,
			Changes: []event.Change{{Type: event.UTS, Action: event.Create, From: hostUTS, To: 7002}}})
		if reads != c.wantReads {
			t.Errorf("task %d uid %d: %d reads of /proc, want %d", c.tid, c.uid, reads, c.wantReads)
		}
	}
}
