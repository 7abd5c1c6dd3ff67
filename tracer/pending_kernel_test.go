package tracer

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// With the per-call state in the hash map (the fallback for kernels without
// task storage) and that map too small for the calls in flight, the calls
// that found no room are counted as lost, and the count of clone entries
// follows what the map holds: back to 0 once every call returned, so the
// exits of ordinary clones keep their early return.
func TestPendingCountersStayExactWhenTheHashIsFull(t *testing.T) {
	testenv.RequireKernel(t)
	const slots, callers = 2, 5

	// The helper waits for a line on stdin before it starts its calls, so
	// the tracer can be opened for its pid alone: other tests' clones on
	// the machine must not take the two slots.
	h := startVforkHold(t, callers)

	tr, err := Open(Options{Pid: h.pid(), Hooks: os.Getenv("NSTRACE_HOOKS"),
		tune: func(spec *ebpf.CollectionSpec) {
			if err := setConfig(spec, func(c *gen.NstraceConfig) { c.UseTaskStorage = 0 }); err != nil {
				t.Fatal(err)
			}
			spec.Maps[gen.NstraceMapPending].MaxEntries = slots
		}})
	if err != nil {
		t.Fatalf("open tracer: %v", err)
	}
	defer tr.Close()

	h.start(t, callers)
	// Each call is either in the map or counted lost (a call that a
	// signal restarts enters twice, and may be counted lost the second
	// time); the counter counts what the map holds.
	held := pendingEntries(t, tr)
	drops := readDrops(t, tr, gen.NstraceDropCauseDROP_PENDING_FULL)
	if held == 0 || held > slots || held+drops < callers {
		t.Errorf("%d clones held in a %d-slot map: %d entries, %d counted lost", callers, slots, held, drops)
	}
	if got := readCounter(t, tr, gen.NstraceVarClonesPending); got != held {
		t.Errorf("clones_pending with %d entries in the map: %d", held, got)
	}

	h.release(t)
	for _, name := range []string{gen.NstraceVarClonesPending, gen.NstraceVarExecsPending} {
		if got := readCounter(t, tr, name); got != 0 {
			t.Errorf("%s after every call returned: %d, want 0", name, got)
		}
	}
	if got := pendingEntries(t, tr); got != 0 {
		t.Errorf("%d entries left in the map after every call returned", got)
	}
	if got := readDrops(t, tr, gen.NstraceDropCauseDROP_PENDING_FULL); got != drops {
		t.Errorf("pending-full drops after the calls: %d, want %d", got, drops)
	}
}

func pendingEntries(t *testing.T, tr *Tracer) uint64 {
	t.Helper()
	var (
		key uint32
		val gen.NstracePending
		n   uint64
	)
	it := tr.coll.Maps[gen.NstraceMapPending].Iterate()
	for it.Next(&key, &val) {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("read pending map: %v", err)
	}
	return n
}

func readCounter(t *testing.T, tr *Tracer, name string) uint64 {
	t.Helper()
	var v uint64
	if err := tr.coll.Variables[name].Get(&v); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return v
}

func readDrops(t *testing.T, tr *Tracer, cause gen.NstraceDropCause) uint64 {
	t.Helper()
	var perCPU []uint64
	if err := tr.coll.Maps[gen.NstraceMapDrops].Lookup(uint32(cause), &perCPU); err != nil {
		t.Fatalf("read drops: %v", err)
	}
	var sum uint64
	for _, n := range perCPU {
		sum += n
	}
	return sum
}
