package nsbench

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want procTicks
		ok   bool
	}{
		{"a plain process",
			"17488 (qemu-system-x86) S 17470 17488 17470 0 -1 4194560 52064 0 0 0 61273 10233 0 0 20 0 5 0 127300 1386037248 101889 18446744073709551615",
			procTicks{comm: "qemu-system-x86", ticks: 71506}, true},
		{"a comm with spaces and parentheses",
			"42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0",
			procTicks{comm: "a (b) c", ticks: 10}, true},
		{"a truncated line", "42 (x) R 1 42", procTicks{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseProcStat(tt.stat)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseProcStat = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestOthersSinceNamesTheBusyOnes(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 5, 0, 0, 0, time.UTC)
	before := activity{at: t0, ticks: map[int]procTicks{
		17488: {"qemu-system-x86", 10_000},
		77:    {"kdamond.0", 500},
	}}
	after := activity{at: t0.Add(100 * time.Second), ticks: map[int]procTicks{
		17488: {"qemu-system-x86", 27_900}, // 179 s of CPU in 100 s
		77:    {"kdamond.0", 520},          // 0.2 s: below a tenth of a CPU
		900:   {"go", 2_000},               // new: 20 s
	}}
	got := othersSince(before, after)
	want := []string{"qemu-system-x86 (pid 17488) 179% of a CPU", "go (pid 900) 20% of a CPU"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("othersSince = %q, want %q", got, want)
	}
}

func TestParseCPULineCountsAllButIdleAndIowait(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	line := "cpu  61273 12 10233 500000 700 300 200 0 0 0"
	if got, want := parseCPULine(line), (61273+12+10233+300+200)/100.0; got != want {
		t.Errorf("parseCPULine = %v, want %v", got, want)
	}
	if got := parseCPULine("cpu0 1 2 3 4 5 6 7"); got != 0 {
		t.Errorf("a per-CPU line gave %v, want 0", got)
	}
}

func TestOthersShareSubtractsOurOwnTime(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 5, 0, 0, 0, time.UTC)
	before := activity{at: t0, busy: 1000, ours: 10}
	after := activity{at: t0.Add(100 * time.Second), busy: 1150, ours: 110} // 150 busy, 100 ours
	if got := othersShare(before, after); got != 0.5 {
		t.Errorf("othersShare = %v, want 0.5", got)
	}
}
