package tracer

import (
	"os"
	"testing"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// With task storage (the default), a clone's entry goes in its thread's
// call slot: clones_pending counts every clone held inside the call,
// slot or not, and once they all returned it is back to 0 and no slot
// still holds a clone.
func TestHeldClonesAreCountedInCallSlots(t *testing.T) {
	testenv.RequireKernel(t)
	const callers = 5

	h := startVforkHold(t, callers)
	tr, err := Open(Options{Pid: h.pid(), Hooks: os.Getenv("NSTRACE_HOOKS")})
	if err != nil {
		t.Fatalf("open tracer: %v", err)
	}
	defer tr.Close()

	h.start(t, callers)
	if got := readCounter(t, tr, gen.NstraceVarClonesPending); got != callers {
		t.Errorf("clones_pending with %d clones held: %d", callers, got)
	}
	// Another thread's call may hold a slot, sending a clone to task
	// storage: most, not all, are in slots.
	if got := cloneSlots(t, tr); got == 0 || got > callers {
		t.Errorf("%d clones held: %d in call slots", callers, got)
	}

	h.release(t)
	if got := readCounter(t, tr, gen.NstraceVarClonesPending); got != 0 {
		t.Errorf("clones_pending after every clone returned: %d, want 0", got)
	}
	if got := cloneSlots(t, tr); got != 0 {
		t.Errorf("%d call slots still hold a clone after every clone returned", got)
	}
}

// cloneSlots counts the call slots that hold a clone's entry.
func cloneSlots(t *testing.T, tr *Tracer) int {
	t.Helper()
	var (
		key  uint32
		slot gen.NstraceCallSlot
		n    int
	)
	it := tr.coll.Maps[gen.NstraceMapCallSlots].Iterate()
	for it.Next(&key, &slot) {
		if slot.Tid != 0 && slot.P.Kind == uint8(gen.NstraceEventKindEVENT_CLONE) {
			n++
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("read call slots: %v", err)
	}
	return n
}
