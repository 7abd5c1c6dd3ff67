package cli

import (
	"errors"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/metrics"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
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

// detection is the detector a pipeline runs, on every resolved event in
// order and before the filter (its rules follow each thread), and what it
// heard of rules in trouble.
type detection struct {
	det     *detect.Detector
	trouble *ruleTrouble // rule_errors.go
}

// newDetection makes the detector for rules; nil when rules is nil
// (detection off). m counts rule trouble (nil: no metrics).
func newDetection(rules *detect.Rules, m *metrics.Metrics, stderr io.Writer, opts ...detect.Option) *detection {
	if rules == nil {
		return nil
	}
	d := &detection{trouble: &ruleTrouble{metrics: m, stderr: stderr}}
	d.det = detect.New(rules, append(opts, detect.WithObserver(d.trouble))...)
	return d
}

// detector is the pipeline's detector; nil when detection is off.
func (d *detection) detector() *detect.Detector {
	if d == nil {
		return nil
	}
	return d.det
}

// lines are the closing lines on failing and skipped rules.
func (d *detection) lines() []string {
	if d == nil {
		return nil
	}
	return d.trouble.lines(d.det)
}

// alertSummary is the closing line on alerts, by severity, and on rules in
// trouble (further lines, each with the "nstrace: " its caller puts
// before the first); "" for nothing to say.
func alertSummary(p *pipeline.Pipeline, d *detection) string {
	var lines []string
	if s := p.AlertSummary(); s != "" {
		lines = append(lines, s)
	}
	return strings.Join(append(lines, d.lines()...), "\nnstrace: ")
}

// observer is the metrics as the pipeline's observer; nil for none.
func observer(m *metrics.Metrics) pipeline.Observer {
	if m == nil {
		return nil
	}
	return m
}
