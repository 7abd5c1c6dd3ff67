package main

import (
	"errors"
	"io"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/detect"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/metrics"
	"github.com/nstrace/nstrace/tracer/session"
)

// alertFlags are the detection flags of trace, replay and report.
type alertFlags struct {
	rules      string
	noAlerts   bool
	alertsOnly bool // trace and replay: the report's alerts point at their events
	rerun      bool // replay and report: the recording's alerts are shown otherwise
	display    bool // --alerts-only is offered
}

// register adds the flags; recorded: the command reads recordings, which
// may hold alerts; display: it shows events as lines, which alerts can
// stand without.
func (f *alertFlags) register(fl *pflag.FlagSet, recorded, display bool) {
	fl.StringVar(&f.rules, "rules", "", "detection rules file (YAML): switch built-in rules off, change their severity, add rules")
	fl.BoolVar(&f.noAlerts, "no-alerts", false, "run no detection rules: show no alerts")
	if f.display = display; display {
		fl.BoolVar(&f.alertsOnly, "alerts-only", false, "show only alerts, not the events")
	}
	if recorded {
		fl.BoolVar(&f.rerun, "rerun-rules", false, "run the detection rules again (built-in, or --rules') instead of showing the alerts recorded")
	}
}

// load checks the flags and reads the rule file: nil rules when detection
// is off.
func (f *alertFlags) load() (*detect.Rules, error) {
	switch {
	case f.noAlerts && f.display && (f.rules != "" || f.alertsOnly):
		return nil, usageError{errors.New("--no-alerts contradicts --rules and --alerts-only")}
	case f.noAlerts && (f.rules != "" || f.rerun):
		return nil, usageError{errors.New("--no-alerts contradicts --rules and --rerun-rules")}
	case f.noAlerts:
		return nil, nil
	case f.rules != "":
		return loadRules(f.rules)
	}
	return detect.DefaultRules(), nil
}

// forRecording decides where a recording's alerts come from: the alerts
// it holds, when it was recorded with detection on and no rules are asked
// for (--rules FILE, --rerun-rules), else the rules loaded (nil: none).
func (f *alertFlags) forRecording(h *session.Header, rules *detect.Rules) (_ *detect.Rules, recorded bool) {
	if rules != nil && f.rules == "" && !f.rerun && h.Detection != nil {
		return nil, true // the detector stays off: the recorded alerts are shown
	}
	return rules, false
}

// detection runs the detector in the pipeline, on every resolved event in
// order and before the filter: its rules follow each thread.
type detection struct {
	det     *detect.Detector
	trouble *ruleTrouble // rule_errors.go
	pending []detect.Alert
}

func newDetection(rules *detect.Rules, m *metrics.Metrics, stderr io.Writer, opts ...detect.Option) *detection {
	d := &detection{trouble: &ruleTrouble{metrics: m, stderr: stderr}}
	d.det = detect.New(rules, append(opts, detect.WithObserver(d.trouble))...)
	return d
}

// check returns the alerts ev raises, valid until the next call.
func (d *detection) check(ev *event.Event) []detect.Alert {
	d.pending = append(d.pending[:0], d.det.Check(ev)...)
	return d.pending
}
