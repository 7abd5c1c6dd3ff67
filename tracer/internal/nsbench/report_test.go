package nsbench

import (
	"bytes"
	"strings"
	"testing"
)

func TestFmtInt(t *testing.T) {
	tests := map[float64]string{0: "—", 170: "170", 7_560.4: "7,560", 730_412: "730,412", 12_345_678.6: "12,345,679"}
	for x, want := range tests {
		if got := fmtInt(x); got != want {
			t.Errorf("fmtInt(%v) = %q, want %q", x, got, want)
		}
	}
}

func TestFmtRatioMarksOnlyNstraceAgainstTheGoal(t *testing.T) {
	tests := []struct {
		ratio, goal float64
		tracer      string
		want        string
	}{
		{1.004, 1.01, "nstrace-json", "1.00× ✓"},
		{6.34, 1.30, "nstrace-w", "6.34× ✗"},
		{12.15, 1.30, "bpftrace", "12.15×"},
		{0, 1.30, "nstrace-json", "—"},
	}
	for _, tt := range tests {
		if got := fmtRatio(tt.ratio, tt.goal, tt.tracer); got != tt.want {
			t.Errorf("fmtRatio(%v, %v, %s) = %q, want %q", tt.ratio, tt.goal, tt.tracer, got, tt.want)
		}
	}
}

func TestTableShowsCountsAndMarksMissingEvents(t *testing.T) {
	res := newResults([]tracer{{Name: "nstrace-json", Title: "nstrace -o json"}, {Name: "bpftrace", Title: "bpftrace"}})
	res.Rows = []*row{{
		Workload: "setns", Title: "setns churn", Goal: 1.30,
		Untraced: cell{Median: 730_000, Spread: 0.04},
		Traced: map[string]*cell{
			"nstrace-json": {Median: 600_000, Ratio: 730_000 / 600_000.0, Expected: 300_000, Delivered: 299_000, Lost: 1_000},
			"bpftrace":     {Median: 60_000, Ratio: 730_000 / 60_000.0, Expected: 30_000, Delivered: 29_910, Lost: 90},
		},
	}}
	res.addReady("nstrace-json", 0.148e9)
	res.addReady("bpftrace", 1.402e9)
	var b bytes.Buffer
	res.writeTable(&b)
	out := b.String()
	for _, want := range []string{"| setns churn", "730,000 (±4%)", "1.22× ✓", "12.17×", "299000/300000 ✗ ; 29910/30000", "1000 ; 90", "0.148 s (1 starts)", "1.402 s (1 starts)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestSetnsBreakdownAddsTheTracersSetnsPrograms(t *testing.T) {
	res := newResults([]tracer{{Name: "nstrace-json", Title: "nstrace -o json"}})
	res.Rows = []*row{{Workload: "setns", Untraced: cell{Median: 1_000_000},
		Traced: map[string]*cell{"nstrace-json": {Median: 500_000}}}}
	res.Costs = []progCost{
		{Workload: "setns", Tracer: "nstrace -o json", Program: "setns_enter", Runs: 51456, NsPerRun: 139},
		{Workload: "setns", Tracer: "nstrace -o json", Program: "setns_exit", Runs: 51456, NsPerRun: 413},
		{Workload: "setns", Tracer: "nstrace -o json", Program: "fork", Runs: 7, NsPerRun: 181},
		{Workload: "fork", Tracer: "nstrace -o json", Program: "setns_exit", Runs: 2, NsPerRun: 900},
		{Workload: "setns", Tracer: "bpftrace", Program: "sys_exit_setns", Runs: 28672, NsPerRun: 12134},
	}
	var b bytes.Buffer
	res.setnsBreakdown(&b)
	want := "\nsetns per call: untraced 1000 ns; nstrace -o json 2000 ns (+1000, of which its setns programs 552 ns)\n"
	if b.String() != want {
		t.Errorf("setnsBreakdown =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestMainCostsLeaveOutRarePrograms(t *testing.T) {
	res := &results{Costs: []progCost{
		{Workload: "setns", Tracer: "nstrace -o json", Program: "setns_exit", Runs: 51456},
		{Workload: "setns", Tracer: "nstrace -o json", Program: "fork", Runs: 7},
		{Workload: "fork", Tracer: "nstrace -o json", Program: "fork", Runs: 2400},
		{Workload: "fork", Tracer: "nstrace -o json", Program: "clone_exit", Runs: 24},
	}}
	var got []string
	for _, c := range res.mainCosts() {
		got = append(got, c.Workload+"/"+c.Program)
	}
	if want := "setns/setns_exit fork/fork fork/clone_exit"; strings.Join(got, " ") != want {
		t.Errorf("mainCosts = %q, want %q", got, want)
	}
}

func TestCostsBetweenSubtractsTheTotals(t *testing.T) {
	// sys_enter_clone and sys_enter_clone3 both show as "sys_enter_clone".
	before := []progCost{
		{ID: 4970, Tracer: "bpftrace", Program: "sys_exit_setns", Runs: 100, Runtime: 1_000_000},
		{ID: 4966, Tracer: "bpftrace", Program: "sys_enter_clone", Runs: 5193, Runtime: 742_599},
		{ID: 4967, Tracer: "bpftrace", Program: "sys_enter_clone", Runs: 4},
	}
	after := []progCost{
		{ID: 4970, Tracer: "bpftrace", Program: "sys_exit_setns", Runs: 32100, Runtime: 357_864_000},
		{ID: 4966, Tracer: "bpftrace", Program: "sys_enter_clone", Runs: 5193, Runtime: 742_599},
		{ID: 4967, Tracer: "bpftrace", Program: "sys_enter_clone", Runs: 4},
	}
	got := costsBetween("setns", before, after)
	if len(got) != 1 || got[0].Runs != 32000 || got[0].NsPerRun != 11152 || got[0].Workload != "setns" {
		t.Errorf("costsBetween = %+v, want one setns row: 32000 runs at 11152 ns", got)
	}
}
