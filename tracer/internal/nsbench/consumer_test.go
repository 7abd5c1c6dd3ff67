package nsbench

import (
	"bytes"
	"os"
	"slices"
	"testing"
	"time"
)

func TestMarginalTakesTheIdleMedianOut(t *testing.T) {
	r := &consumerRuns{}
	for _, run := range []struct{ cpu, events int64 }{{210e6, 100_000}, {200e6, 98_000}, {250e6, 120_000}} {
		r.addLoaded(time.Duration(run.cpu), run.events, 0)
	}
	if _, ok := r.marginal(); ok {
		t.Errorf("marginal without idle runs reported a figure")
	}
	r.addIdle(14e6, 0)
	r.addIdle(12e6, 3)
	r.addIdle(30e6, 0)
	raw, ok := r.raw()
	if !ok || raw != 2100 {
		t.Errorf("raw = %v, %v; want 2100 (210 ms ÷ 100000 events)", raw, ok)
	}
	m, ok := r.marginal()
	if !ok || m != 1960 {
		t.Errorf("marginal = %v, %v; want 1960 ((210 ms − 14 ms) ÷ 100000 events)", m, ok)
	}
	r.settle()
	if r.MarginalNs != 1960 {
		t.Errorf("settled MarginalNs = %v, want 1960", r.MarginalNs)
	}
}

func TestMarginalWithoutEventsIsNoFigure(t *testing.T) {
	r := &consumerRuns{}
	r.addLoaded(5e6, 0, 0)
	r.addIdle(5e6, 0)
	if _, ok := r.raw(); ok {
		t.Errorf("raw with 0 events reported a figure")
	}
	if _, ok := r.marginal(); ok {
		t.Errorf("marginal with 0 events reported a figure")
	}
}

func TestIdleRunsLastAsLongAsTheLoadedOnes(t *testing.T) {
	r := &consumerRuns{}
	if got := r.idleLength(400 * time.Millisecond); got != 400*time.Millisecond {
		t.Errorf("idleLength before any loaded run = %v, want the duration, 400ms", got)
	}
	for _, d := range []time.Duration{430, 410, 470} {
		r.addLoaded(0, 1, d*time.Millisecond)
	}
	if got := r.idleLength(400 * time.Millisecond); got != 430*time.Millisecond {
		t.Errorf("idleLength = %v, want the loaded runs' median, 430ms", got)
	}
}

func TestIdleColumnsAreNstracesOnly(t *testing.T) {
	tracers := []tracer{{Name: "nstrace-json", nstrace: true}, {Name: "floor", floor: true},
		{Name: "nstrace-w", nstrace: true, recorder: true}, {Name: "bpftrace"}}
	if got := idleColumns(tracers); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("idleColumns = %v, want [0 2]", got)
	}
}

func TestConsumerTableShowsRawAndMarginal(t *testing.T) {
	res := newResults([]tracer{{Name: "nstrace-json", Title: "nstrace -o json"}, {Name: "nstrace-w", Title: "nstrace -w"},
		{Name: "bpftrace", Title: "bpftrace"}})
	jsonRuns := &consumerRuns{LoadedCPUNs: []int64{210e6, 200e6, 250e6}, LoadedEvents: []int64{100_000, 98_000, 120_000},
		IdleCPUNs: []int64{14e6, 12e6, 30e6}, IdleEvents: []int64{0, 3, 0},
		LoadedBytes: []int64{130e6, 128e6, 150e6}, WriteFloorNs: []int64{45e6, 44e6, 50e6}}
	w := &consumerRuns{LoadedCPUNs: []int64{60e6, 55e6, 58e6}, LoadedEvents: []int64{100_000, 90_000, 101_000},
		IdleCPUNs: []int64{20e6, 19e6, 21e6}, IdleEvents: []int64{0, 0, 0}}
	noIdle := &consumerRuns{LoadedCPUNs: []int64{3e6}, LoadedEvents: []int64{2_400}}
	res.Rows = []*row{
		{Workload: "setns", Traced: map[string]*cell{"nstrace-json": {Consumer: jsonRuns}, "nstrace-w": {Consumer: w}, "bpftrace": {}}},
		{Workload: "fork-unshare", Traced: map[string]*cell{"nstrace-json": {Consumer: noIdle}, "nstrace-w": {}, "bpftrace": {}}},
	}
	var b bytes.Buffer
	res.writeConsumer(&b)
	want := `
nstrace's CPU per event it handled (CPU time from ready to exit, every thread; medians of the rounds):

| workload     | tracer          | events a run | idle runs' events | CPU ms a run: loaded ; idle | raw CPU ns/event | marginal CPU ns/event (goal ≤ 400) | bytes/event | write(2) floor ns/event | marginal − floor |
| ------------ | --------------- | ------------ | ----------------- | --------------------------- | ---------------- | ---------------------------------- | ----------- | ----------------------- | ---------------- |
| setns        | nstrace -o json | 100,000      | 0, 3, 0           | 210.0 ; 14.0                | 2100             | 1960 ✗                             | 1300        | 450                     | 1510             |
| setns        | nstrace -w      | 100,000      | 0, 0, 0           | 58.0 ; 20.0                 | 580              | 380 ✓                              | —           | —                       | —                |
| fork-unshare | nstrace -o json | 2,400        | —                 | 3.0 ; —                     | 1250             | —                                  | —           | —                       | —                |

- raw: CPU of a run with the workload ÷ the events its summary counted. It includes work no event causes (unmapping the ring, closing the programs, -w's fsync, the summary), which weighs more the shorter the run.
- marginal: (CPU of a run with the workload − CPU of an idle run) ÷ those events: what each event adds. Idle runs start, get ready, wait as long as the runs with the workload, and stop, with no workload, in the same rounds; their events are the rest of the machine's.
- write(2) floor: after each run, the CPU this harness takes to write as many bytes as the run's output file holds to a new file beside it, in 256 KiB writes, ÷ that run's events: what no encoding can save while every line keeps its fields. marginal − floor is the rest: ring, decoding, resolving, detection, encoding.
`
	if b.String() != want {
		t.Errorf("writeConsumer =\n%s\nwant\n%s", b.String(), want)
	}
}

// The floor writes as many bytes as asked, to a file it removes, and
// takes CPU time to do it.
func TestWriteFloorWritesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	cpu, seen, err := writeFloor(dir, 3*writeBlock+5)
	if err != nil {
		t.Fatal(err)
	}
	if seen != 3*writeBlock+5 || cpu <= 0 {
		t.Errorf("wrote %d bytes in %v of CPU, want %d bytes and some CPU", seen, cpu, 3*writeBlock+5)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left %d files behind", len(left))
	}
}
