package detect

import (
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// whereEv is a setns into the host's uts from 7002, stamped with where the
// kernel says the task is after it.
func whereEv(tid, mnt uint32) *event.Event {
	ev := &event.Event{Time: time.Now(), Kind: event.Setns, Pid: tid, Tid: tid, Ppid: 1, Comm: "x",
		Changes: []event.Change{join(event.UTS, 7002, hostUTS)}}
	ev.Where[event.Mnt], ev.Where[event.Pid], ev.Where[event.UTS], ev.Where[event.IPC] = mnt, hostPid, hostUTS, hostIPC
	return ev
}

func hostEntries(alerts []Alert) int {
	n := 0
	for _, a := range alerts {
		if a.Rule == RuleHostNamespaceEntry {
			n++
		}
	}
	return n
}

// Under setns churn with flood accounting on, every event the consumer sees
// disagrees with the last about the uts namespace and resets the task; with
// the kernel's Where the task is placed at once, and /proc is never read,
// however recent the event. A Where that disagrees with what was known
// makes the task stale, as a change's From does.
func TestWherePlacesATaskWithoutReadingProc(t *testing.T) {
	root := t.TempDir()
	const tid = 50
	// /proc says the host's mount namespace: were it read, no alert.
	fakeProc(t, root, tid, map[event.NsType]uint32{event.Mnt: hostMnt, event.Pid: hostPid, event.IPC: hostIPC})
	reads := 0
	defer func(f func(string, uint32, event.NsType) uint32) { readNsInode = f }(readNsInode)
	readNsInode = func(string, uint32, event.NsType) uint32 { reads++; return 0 }
	d := New(nil, WithInventory(hostInventory()), WithProc(root), WithoutFolding())
	for i := range 5 {
		if n := hostEntries(d.Check(whereEv(tid, 7000))); n != 1 {
			t.Fatalf("event %d from a private mount namespace: %d host-entry alerts, want 1", i, n)
		}
	}
	if reads != 0 {
		t.Errorf("%d reads of /proc, want 0: the events said where the task was", reads)
	}
	// Now the kernel places it in the host's mount namespace: what was
	// known (7000) is stale, and the join from a private uts alone is no
	// escape.
	if n := hostEntries(d.Check(whereEv(tid, hostMnt))); n != 0 {
		t.Errorf("from the host's mount namespace: %d host-entry alerts, want 0", n)
	}
	if got := d.tasks.get(tid).ns[event.Mnt]; got != hostMnt {
		t.Errorf("task's mount namespace %d, want %d", got, hostMnt)
	}
	if reads != 0 {
		t.Errorf("%d reads of /proc, want 0", reads)
	}
}
