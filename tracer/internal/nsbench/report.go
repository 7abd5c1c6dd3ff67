package nsbench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// readyGoal is the bound on start → probes attached.
const readyGoal = 200 * time.Millisecond

// results is everything one run measured.
type results struct {
	Tracers []string          `json:"tracers"` // column order
	Titles  map[string]string `json:"titles"`
	Rows    []*row            `json:"workloads"`
	Ready   map[string]*ready `json:"ready"` // by tracer
	Memory  *memoryResult     `json:"memory,omitempty"`
	Export  *exportResult     `json:"export,omitempty"`
	Reports []reportRow       `json:"reports,omitempty"`
	Seals   []*sealRow        `json:"sealing,omitempty"`
	Costs   []progCost        `json:"bpf_costs,omitempty"`
	Notes   []string          `json:"notes"`
}

// ready is how long a tracer took from start until its probes were attached.
type ready struct {
	Seconds []float64 `json:"seconds"`
	Median  float64   `json:"median_seconds"`
}

func newResults(tracers []tracer) *results {
	res := &results{Titles: make(map[string]string), Ready: make(map[string]*ready)}
	for _, t := range tracers {
		res.Tracers = append(res.Tracers, t.Name)
		res.Titles[t.Name] = t.Title
		res.Ready[t.Name] = &ready{}
	}
	return res
}

func (res *results) addReady(tracer string, d time.Duration) {
	r := res.Ready[tracer]
	r.Seconds = append(r.Seconds, d.Seconds())
	r.Median = median(r.Seconds)
}

func (res *results) note(format string, args ...any) {
	res.Notes = append(res.Notes, fmt.Sprintf(format, args...))
}

func (res *results) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// writeTable prints the results as Markdown.
func (res *results) writeTable(w io.Writer) {
	if len(res.Rows) > 0 {
		res.writeWorkloads(w)
	}
	res.writeSeals(w)
	res.writeReports(w)
	if len(res.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range res.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// writeWorkloads prints the workloads' table and what was measured with it.
func (res *results) writeWorkloads(w io.Writer) {
	head := []string{"workload", "goal", "untraced ops/s (± half range)"}
	for _, name := range res.Tracers {
		head = append(head, res.Titles[name]+" ops/s", "ratio")
	}
	head = append(head, "events delivered[+flooded]/expected ("+res.titleList()+")", "lost ("+res.titleList()+")")
	t := [][]string{head}
	for _, r := range res.Rows {
		goal := fmt.Sprintf("≤ %.2f×", r.Goal)
		if r.GoalNote != "" {
			goal += " (" + r.GoalNote + ")"
		}
		line := []string{r.Title, goal,
			fmt.Sprintf("%s (±%.0f%%)", fmtInt(r.Untraced.Median), 100*r.Untraced.Spread)}
		var delivered, lost []string
		for _, name := range res.Tracers {
			c := r.Traced[name]
			line = append(line, fmtInt(c.Median), fmtRatio(c.Ratio, r.Goal, name))
			d := fmt.Sprintf("%d/%d", c.Delivered, c.Expected)
			if c.Flooded > 0 {
				d = fmt.Sprintf("%d+%d/%d", c.Delivered, c.Flooded, c.Expected)
			}
			if name == "floor" {
				d = "—"
			}
			// Flood counts are every source's: they can explain missing
			// events, never excuse extra ones.
			if strings.HasPrefix(name, "nstrace") && (c.Delivered > c.Expected || c.Delivered+c.Flooded < c.Expected) {
				d += " ✗"
			}
			delivered = append(delivered, d)
			lost = append(lost, strconv.FormatInt(c.Lost, 10))
		}
		t = append(t, append(line, strings.Join(delivered, " ; "), strings.Join(lost, " ; ")))
	}
	t = append(t, res.readyRow())
	writeMarkdown(w, t)
	res.writeConsumer(w)
	res.writeMemory(w)
	res.writeCosts(w)
}

func (res *results) writeMemory(w io.Writer) {
	if m := res.Memory; m != nil {
		fmt.Fprintf(w, "\nnstrace resident memory under setns churn (-o json), goal ≤ 64 MiB and flat:\n\n")
		var parts []string
		for _, s := range m.Samples {
			parts = append(parts, fmt.Sprintf("%s events: %.1f MiB", fmtInt(float64(s.Events)), float64(s.RSSKiB)/1024))
		}
		verdict := "flat ✓"
		if !m.Flat {
			verdict = "✗ not flat, or over 64 MiB"
		}
		if !m.Complete {
			verdict += " (stopped by -mem-timeout before the last sample)"
		}
		fmt.Fprintf(w, "- %s → %s\n", strings.Join(parts, ", "), verdict)
		fmt.Fprintf(w, "- written at %s events/s; nstrace's summary: %d events, %d lost\n", fmtInt(m.rate()), m.Delivered, m.Lost)
	}
}

func (res *results) writeCosts(w io.Writer) {
	if len(res.Costs) > 0 {
		fmt.Fprintf(w, "\nKernel cost per BPF program while each workload ran (run_time_ns ÷ run_cnt, stats on; programs that ran for other processes now and then left out; the floor's programs do nothing: their figure is what the accounting and the call add to every program's):\n\n")
		t := [][]string{{"workload", "tracer", "program", "runs", "ns/run"}}
		for _, c := range res.mainCosts() {
			t = append(t, []string{c.Workload, c.Tracer, c.Program, strconv.FormatUint(c.Runs, 10), fmt.Sprintf("%.0f", c.NsPerRun)})
		}
		writeMarkdown(w, t)
		res.setnsBreakdown(w)
	}
}

// mainCosts are the programs that ran at least a hundredth as often as the
// busiest one of the same tracer and workload.
func (res *results) mainCosts() []progCost {
	busiest := make(map[[2]string]uint64)
	for _, c := range res.Costs {
		k := [2]string{c.Workload, c.Tracer}
		busiest[k] = max(busiest[k], c.Runs)
	}
	var out []progCost
	for _, c := range res.Costs {
		if c.Runs*100 >= busiest[[2]string{c.Workload, c.Tracer}] {
			out = append(out, c)
		}
	}
	return out
}

// setnsBreakdown splits what tracing adds to a setns call: the tracer's own
// setns programs, and the rest (tracepoint dispatch and the syscall slow
// path, caches, the reader on the other CPU).
func (res *results) setnsBreakdown(w io.Writer) {
	var r *row
	for _, x := range res.Rows {
		if x.Workload == "setns" {
			r = x
		}
	}
	if r == nil || r.Untraced.Median <= 0 {
		return
	}
	base := 1e9 / r.Untraced.Median
	fmt.Fprintf(w, "\nsetns per call: untraced %.0f ns", base)
	for _, name := range res.Tracers {
		c := r.Traced[name]
		if c.Median <= 0 {
			continue
		}
		per := 1e9 / c.Median
		fmt.Fprintf(w, "; %s %.0f ns (+%.0f", res.Titles[name], per, per-base)
		var progs float64
		for _, pc := range res.Costs {
			if pc.Workload == "setns" && pc.Tracer == res.Titles[name] && strings.Contains(pc.Program, "setns") {
				progs += pc.NsPerRun
			}
		}
		if progs > 0 {
			fmt.Fprintf(w, ", of which its setns programs %.0f ns", progs)
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintln(w)
}

func (res *results) titleList() string {
	var ts []string
	for _, name := range res.Tracers {
		ts = append(ts, res.Titles[name])
	}
	return strings.Join(ts, " ; ")
}

// readyRow puts each tracer's median time to ready in its ops/s column.
func (res *results) readyRow() []string {
	line := []string{"time from start to probes attached (median)", fmt.Sprintf("≤ %.1f s", readyGoal.Seconds()), ""}
	for _, name := range res.Tracers {
		r := res.Ready[name]
		mark := ""
		if strings.HasPrefix(name, "nstrace") && r.Median > 0 {
			mark = pass(r.Median <= readyGoal.Seconds())
		}
		line = append(line, fmt.Sprintf("%.3f s (%d starts)", r.Median, len(r.Seconds)), mark)
	}
	return append(line, "", "")
}

// fmtRatio marks nstrace's ratios against the goal; the peer's are context.
func fmtRatio(ratio, goal float64, tracer string) string {
	if ratio == 0 {
		return "—"
	}
	s := fmt.Sprintf("%.2f×", ratio)
	if strings.HasPrefix(tracer, "nstrace") {
		s += " " + pass(ratio <= goal)
	}
	return s
}

func pass(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// fmtInt prints a rate as an integer with thousands separated: 730,412.
func fmtInt(x float64) string {
	if x <= 0 || math.IsNaN(x) {
		return "—"
	}
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeMarkdown prints rows as a Markdown table, the first row as header.
func writeMarkdown(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + c + strings.Repeat(" ", widths[i]-len([]rune(c))) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(widths))
	for i, n := range widths {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, r := range rows[1:] {
		line(r)
	}
}
