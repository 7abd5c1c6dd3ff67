package tracer_test

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
)

// Each record says where its task is after the call, in the mount, pid,
// uts and ipc namespaces /proc shows for it: an unshare's caller (in the
// host's pid namespace) and a clone's child in a pid namespace of its own
// (the pid read the slower way). Other types are left 0.
func TestEventsSayWhereTheTaskIs(t *testing.T) {
	for _, tc := range []struct {
		name string
		attr *syscall.SysProcAttr
		kind event.Kind
	}{
		{"unshare", &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC}, event.Unshare},
		{"clone in a new pid namespace", &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS}, event.Clone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCapture(t, tracer.Options{})
			pid, after := holdProcess(t, tc.attr)
			ev := one(t, where(c.stop(t), func(ev *event.Event) bool {
				return ev.Kind == tc.kind && ev.Pid == uint32(pid)
			}), "events of the child")
			var want [event.NumNsTypes]uint32
			for _, ty := range []event.NsType{event.Mnt, event.Pid, event.UTS, event.IPC} {
				want[ty] = after[ty]
			}
			if ev.Where != want {
				t.Errorf("where %v, want /proc's %v", ev.Where, want)
			}
		})
	}
}
