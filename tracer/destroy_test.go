package tracer_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
)

// A UTS namespace made and dropped on a throwaway thread: where the destroy
// hook attaches (fentry kernels), one destroy event names its inode; where it
// cannot (this 6.18 host), the hook is reported unavailable and no destroy
// event is ever made up.
func TestDroppedNamespaceIsReportedDestroyedOrUnavailable(t *testing.T) {
	c := startCapture(t, tracer.Options{})
	var destroyAttached bool
	for _, h := range c.tr.Hooks() {
		if h.Name == "destroy" {
			destroyAttached = h.Attached
			if !h.Attached && h.Err == nil {
				t.Error("destroy hook missing without a reason")
			}
		}
	}
	var dropped uint32
	err := onLockedThread(func(int) error {
		orig, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(orig)
		if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
			return err
		}
		if dropped, err = nsInode("/proc/thread-self/ns/uts"); err != nil {
			return err
		}
		// Back to the original: nothing holds the new namespace any more,
		// and it is freed before setns returns.
		return unix.Setns(orig, unix.CLONE_NEWUTS)
	})
	if err != nil {
		t.Fatal(err)
	}
	destroys := where(c.stop(t), func(ev *event.Event) bool { return ev.Kind == event.Destroy })
	mine := where(destroys, func(ev *event.Event) bool { return len(ev.Changes) == 1 && ev.Changes[0].To == dropped })
	switch {
	case destroyAttached && len(mine) != 1:
		t.Errorf("destroy events for %d: %d, want 1", dropped, len(mine))
	case destroyAttached && mine[0].Changes[0].Action != event.Gone:
		t.Errorf("destroy change action %s", mine[0].Changes[0].Action)
	case !destroyAttached && len(destroys) != 0:
		t.Errorf("%d destroy events without a destroy hook", len(destroys))
	}
}
