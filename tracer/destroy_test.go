package tracer_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
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
	evs := c.stop(t)
	destroys := where(evs, func(ev *event.Event) bool { return ev.Kind == event.Destroy })
	mine := where(destroys, func(ev *event.Event) bool { return len(ev.Changes) == 1 && ev.Changes[0].To == dropped })
	switch {
	case destroyAttached && len(mine) != 1:
		t.Errorf("destroy events for %d: %d, want 1", dropped, len(mine))
	case destroyAttached && mine[0].Changes[0].Action != event.ActionDestroy:
		t.Errorf("destroy change action %s", mine[0].Changes[0].Action)
	case !destroyAttached && len(destroys) != 0:
		t.Errorf("%d destroy events without a destroy hook", len(destroys))
	}
	if destroyAttached {
		resolverForgets(t, evs, dropped)
	}
}

// resolverForgets runs the stream through a resolver: the destroy event
// gets the namespace's type back, and after the grace period the resolver
// no longer knows the namespace.
func resolverForgets(t *testing.T, evs []*event.Event, dropped uint32) {
	const grace = time.Millisecond
	r := resolve.New(nil, resolve.WithGracePeriod(grace))
	var last time.Time
	typed := false
	for _, ev := range evs {
		r.Resolve(ev)
		last = ev.Time
		if ev.Kind == event.Destroy && len(ev.Changes) == 1 && ev.Changes[0].To == dropped {
			// Typed means the resolver knew the namespace when it died.
			if typed = ev.Changes[0].Type == event.UTS; !typed {
				t.Errorf("destroy of %d typed %s, want uts", dropped, ev.Changes[0].Type)
			}
		}
	}
	if !typed {
		t.Fatalf("no destroy event for uts %d reached the resolver typed", dropped)
	}
	// Any later event lets the resolver sweep.
	r.Resolve(&event.Event{Time: last.Add(time.Second), Kind: event.Unshare})
	if _, ok := r.Lookup(event.UTS, dropped); ok {
		t.Errorf("uts %d still known after its destroy and the grace period", dropped)
	}
}
