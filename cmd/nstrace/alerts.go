package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/detect"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/metrics"
	"github.com/nstrace/nstrace/tracer/resolve"
)

// alertFlags are the detection flags trace and replay share.
type alertFlags struct {
	rules      string
	noAlerts   bool
	alertsOnly bool
}

func (f *alertFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.rules, "rules", "", "detection rules file (YAML): switch built-in rules off, change their severity, add rules")
	fl.BoolVar(&f.noAlerts, "no-alerts", false, "run no detection rules: show no alerts")
	fl.BoolVar(&f.alertsOnly, "alerts-only", false, "show only alerts, not the events")
}

// load checks the flags and reads the rule file: nil rules when detection
// is off.
func (f *alertFlags) load() (*detect.Rules, error) {
	switch {
	case f.noAlerts && (f.rules != "" || f.alertsOnly):
		return nil, usageError{errors.New("--no-alerts contradicts --rules and --alerts-only")}
	case f.noAlerts:
		return nil, nil
	case f.rules != "":
		return loadRules(f.rules)
	}
	return detect.DefaultRules(), nil
}

// alerting runs the detector in the pipeline, on every resolved event in
// order and before the filter (its rules follow each thread), counts events
// for the metrics, and shows each alert right after its trigger, when the
// filter keeps that.
type alerting struct {
	det     *detect.Detector // nil: counting only
	metrics *metrics.Metrics // nil: none
	out     *output          // nil: alerts are not shown
	record  *sessionSink     // nil: alerts are not recorded
	w       io.Writer        // what out writes to, for text lines
	color   bool

	pending []detect.Alert
	buf     []byte
	counts  [detect.Critical + 1]uint64
	trouble *ruleTrouble // rule_errors.go
}

func newAlerting(rules *detect.Rules, out *output, w io.Writer, opts ...detect.Option) *alerting {
	a := &alerting{out: out, w: w, color: wantColor(w)}
	a.trouble = &ruleTrouble{a: a, stderr: os.Stderr}
	if rules != nil {
		a.det = detect.New(rules, append(opts, detect.WithObserver(a.trouble))...)
	}
	return a
}

// check runs before the filter.
func (a *alerting) check(ev *event.Event) {
	if a.metrics != nil {
		a.metrics.Event(ev)
	}
	a.pending = a.pending[:0]
	if a.det == nil {
		return
	}
	a.pending = append(a.pending, a.det.Check(ev)...)
	if a.metrics != nil {
		for i := range a.pending {
			a.metrics.Alert(&a.pending[i])
		}
	}
}

// emit shows the alerts of the event just written; those of an event the
// filter dropped are neither shown nor counted in the summary (the metrics
// count every alert).
func (a *alerting) emit() error {
	if len(a.pending) == 0 {
		return nil
	}
	for i := range a.pending {
		if s := a.pending[i].Severity; int(s) < len(a.counts) {
			a.counts[s]++
		}
		if a.record != nil {
			a.record.WriteAlert(&a.pending[i]) // right after its trigger
		}
	}
	if a.out == nil {
		a.pending = a.pending[:0]
		return nil
	}
	for i := range a.pending {
		al := &a.pending[i]
		if a.out.json != nil {
			// Buffered like the events; flush writes it out.
			a.buf = al.AppendJSON(a.buf[:0])
			if err := a.out.json.Line(a.buf); err != nil {
				return err
			}
			continue
		}
		// The text writer buffers: what it holds comes first.
		if err := a.out.text.Flush(); err != nil {
			return err
		}
		a.buf = append(al.AppendText(a.buf[:0], a.color), '\n')
		if _, err := a.w.Write(a.buf); err != nil {
			return err
		}
	}
	a.pending = a.pending[:0]
	return nil
}

// flush writes out the alerts buffered: with --alerts-only the output is
// no sink, so the pipeline's flush of its sinks leaves it.
func (a *alerting) flush() error {
	if a.out == nil {
		return nil
	}
	return a.out.Flush()
}

// summary counts the alerts raised, by severity, most severe first, and
// says which rules failed or were skipped (further lines, each with the
// "nstrace: " its caller puts before the first); "" for none.
func (a *alerting) summary() string {
	var total uint64
	var parts, lines []string
	for s := detect.Critical; s >= detect.Info; s-- {
		if n := a.counts[s]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if total > 0 {
		lines = append(lines, fmt.Sprintf("%d alerts (%s)", total, strings.Join(parts, ", ")))
	}
	if a.det != nil {
		lines = append(lines, a.trouble.lines(a.det)...)
	}
	return strings.Join(lines, "\nnstrace: ")
}

// wantColor: only a terminal gets colour, and never with NO_COLOR set
// (https://no-color.org).
func wantColor(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// metricsFlags are trace's Prometheus flags.
type metricsFlags struct {
	addr   string
	public bool
}

func (f *metricsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.addr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. "+metrics.DefaultAddr+" (loopback only unless --metrics-public)")
	fl.BoolVar(&f.public, "metrics-public", false, "with --metrics: allow an address other hosts can reach (the metrics tell what this host is doing)")
}

// check refuses bad flags before anything is loaded.
func (f *metricsFlags) check() error {
	switch {
	case f.addr == "" && f.public:
		return usageError{errors.New("--metrics-public needs --metrics ADDR")}
	case f.addr == "":
		return nil
	}
	err := metrics.CheckAddr(f.addr, f.public)
	if errors.Is(err, metrics.ErrNotLoopback) {
		return usageError{fmt.Errorf("--metrics %w (use 127.0.0.1:PORT, or add --metrics-public)", err)}
	}
	if err != nil {
		return usageError{fmt.Errorf("--metrics %w", err)}
	}
	return nil
}

// serve starts the metrics endpoint, fed by the tracer, the resolver and
// the recording (unwritten: events that did not reach the session file).
func (f *metricsFlags) serve(t *tracer.Tracer, res *resolve.Resolver, unwritten func() uint64) (*metrics.Metrics, *metrics.Server, error) {
	if f.addr == "" {
		return nil, nil, nil
	}
	m := metrics.New()
	m.ObserveRing(t.RingFill)
	m.ObserveLost(func() map[string]uint64 {
		s := t.Stats()
		return map[string]uint64{"ring_full": s.RingFull, "pending_full": s.PendingFull, "shutdown": s.Shutdown, "write": unwritten(), "flood_full": s.FloodFull}
	})
	m.ObserveNamespaces(res.Inventory)
	srv, err := m.Serve(f.addr, f.public)
	if err != nil {
		return nil, nil, err
	}
	return m, srv, nil
}
