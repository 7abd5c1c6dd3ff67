package nsbench

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// cell is one workload under one column, over every round.
type cell struct {
	OpsPerSec []float64 `json:"ops_per_sec"` // one a round
	Median    float64   `json:"median_ops_per_sec"`
	Spread    float64   `json:"spread"`          // half the range ÷ median
	Ratio     float64   `json:"ratio,omitempty"` // untraced ops/s ÷ these
	Expected  int64     `json:"events_expected"`
	Delivered int64     `json:"events_delivered"`
	Flooded   int64     `json:"events_flooded"` // counted past their share (flood records), all processes
	Lost      int64     `json:"lost"`           // what the tracer said it dropped, all processes
	// The tracer's CPU time from ready to exit and the events it said it
	// handled meanwhile (nstrace only): its cost per event as a consumer.
	ConsumerCPUNs  int64         `json:"consumer_cpu_ns,omitempty"`
	ConsumerEvents int64         `json:"consumer_events,omitempty"`
	Consumer       *consumerRuns `json:"consumer_runs,omitempty"` // consumer.go
}

// row is one workload: its untraced runs and its runs under each tracer.
type row struct {
	Workload string           `json:"workload"`
	Title    string           `json:"title"`
	Goal     float64          `json:"goal"`
	GoalNote string           `json:"goal_note,omitempty"` // how a floor-relative goal was set
	Untraced cell             `json:"untraced"`
	Traced   map[string]*cell `json:"traced"` // by tracer name
}

// bench runs every workload rounds times in each column, alternating.
func bench(o *options, tracers []tracer, res *results) error {
	for _, w := range o.workloads {
		r := &row{Workload: w.Name, Title: w.Title, Goal: w.Goal, Traced: make(map[string]*cell)}
		for _, t := range tracers {
			r.Traced[t.Name] = &cell{}
		}
		// Where the workload makes events, each nstrace column also runs
		// idle, as a column of its own: its fixed cost from ready to exit,
		// taken out of its CPU per event.
		var idle []int
		if w.Kind != "" {
			idle = idleColumns(tracers)
		}
		for round := range o.rounds {
			var progress []string
			for _, col := range order(len(tracers)+1+len(idle), round) {
				done, err := runColumn(o, w, r, tracers, idle, col, res)
				if err != nil {
					return fmt.Errorf("%s, round %d: %w", w.Name, round+1, err)
				}
				progress = append(progress, done)
			}
			fmt.Fprintf(os.Stderr, "nsbench: %s %d/%d: %s\n", w.Name, round+1, o.rounds, strings.Join(progress, ", "))
		}
		r.Untraced.Median = median(r.Untraced.OpsPerSec)
		r.Untraced.Spread = spread(r.Untraced.OpsPerSec)
		for _, c := range r.Traced {
			c.Median = median(c.OpsPerSec)
			c.Spread = spread(c.OpsPerSec)
			c.Ratio = slowdown(r.Untraced.Median, c.Median)
			c.Consumer.settle()
		}
		if f, ok := r.Traced["floor"]; ok && w.FloorMargin > 0 && f.Ratio > 0 {
			r.Goal = f.Ratio + w.FloorMargin
			r.GoalNote = fmt.Sprintf("floor + %.2f", w.FloorMargin)
		}
		res.Rows = append(res.Rows, r)
	}
	return nil
}

// runColumn runs column col once: untraced (0), a tracer (1 to
// len(tracers)), or an nstrace column idle (after those, in idle's order).
// It says how the run went, for the progress line.
func runColumn(o *options, w workload, r *row, tracers []tracer, idle []int, col int, res *results) (string, error) {
	switch {
	case col == 0:
		err := runUntraced(o, w, &r.Untraced)
		return rateProgress("untraced", &r.Untraced), err
	case col <= len(tracers):
		t := tracers[col-1]
		c := r.Traced[t.Name]
		err := runTraced(o, w, t, c, res)
		return rateProgress(t.Title, c), err
	default:
		t := tracers[idle[col-1-len(tracers)]]
		c := r.Traced[t.Name]
		if err := runIdle(o, t, c); err != nil {
			return "", err
		}
		return c.Consumer.idleProgress(t.Title), nil
	}
}

func rateProgress(title string, c *cell) string {
	if len(c.OpsPerSec) == 0 {
		return ""
	}
	return fmt.Sprintf("%s %s/s", title, fmtInt(c.OpsPerSec[len(c.OpsPerSec)-1]))
}

func runUntraced(o *options, w workload, c *cell) error {
	ch, err := startChild(o.self, w, o.duration, o.cpu)
	if err != nil {
		return err
	}
	rep, err := ch.wait()
	if err != nil {
		return err
	}
	c.OpsPerSec = append(c.OpsPerSec, rep.opsPerSec())
	return nil
}

// runTraced starts the tracer, waits until it is ready, runs the workload,
// stops the tracer and counts what it delivered.
func runTraced(o *options, w workload, t tracer, c *cell, res *results) error {
	s, err := t.start(o.dir)
	if err != nil {
		return err
	}
	readyAt := time.Now()
	defer os.Remove(s.events)
	res.addReady(t.Name, s.ready)
	ch, err := startChild(o.self, w, o.duration, o.cpu)
	if err != nil {
		s.kill()
		return err
	}
	rep, werr := ch.wait()
	length := time.Since(readyAt)
	if err := errors.Join(werr, s.stop()); err != nil {
		return err
	}
	sum, err := t.lost(s)
	if err != nil {
		return err
	}
	f, err := os.Open(s.events)
	if err != nil {
		return err
	}
	defer f.Close()
	delivered, err := countEvents(f, t.parse, w.Kind, ch.pid())
	if err != nil {
		return fmt.Errorf("count events in %s: %w", s.events, err)
	}
	c.OpsPerSec = append(c.OpsPerSec, rep.opsPerSec())
	if w.Kind != "" && !t.floor {
		c.Expected += rep.Ops
	}
	c.Delivered += delivered
	c.Flooded += sum.Flooded
	c.Lost += sum.Lost
	if t.nstrace {
		c.ConsumerCPUNs += s.cpuSinceReady().Nanoseconds()
		c.ConsumerEvents += sum.Events
		c.consumerRuns().addLoaded(s.cpuSinceReady(), sum.Events, length)
		st, err := f.Stat()
		if err != nil {
			return err
		}
		cpu, _, err := writeFloor(o.dir, st.Size())
		if err != nil {
			return err
		}
		c.consumerRuns().addWriteFloor(st.Size(), cpu)
	}
	return nil
}

// measureCosts runs each workload under each tracer with the kernel's BPF
// run-time accounting on, and reads what each program cost meanwhile.
func measureCosts(o *options, tracers []tracer) ([]progCost, error) {
	stats, err := enableStats()
	if err != nil {
		return nil, err
	}
	defer stats.Close()
	var all []progCost
	for _, t := range tracers {
		s, err := t.start(o.dir)
		if err != nil {
			return nil, err
		}
		costs, err := costsPerWorkload(o, t, s)
		err = errors.Join(err, s.stop())
		os.Remove(s.events)
		if err != nil {
			return nil, err
		}
		all = append(all, costs...)
	}
	return all, nil
}

// costsPerWorkload runs the workloads one after another under one session,
// reading the programs' totals between them.
func costsPerWorkload(o *options, t tracer, s *session) ([]progCost, error) {
	var all []progCost
	before, err := programCosts(t.Title, s.pid())
	if err != nil {
		return nil, err
	}
	for _, w := range o.workloads {
		ch, err := startChild(o.self, w, o.duration, o.cpu)
		if err != nil {
			return nil, err
		}
		if _, err := ch.wait(); err != nil {
			return nil, err
		}
		after, err := programCosts(t.Title, s.pid())
		if err != nil {
			return nil, err
		}
		all = append(all, costsBetween(w.Name, before, after)...)
		before = after
	}
	return all, nil
}
