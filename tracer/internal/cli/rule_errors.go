package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/metrics"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

// ruleTrouble hears from the detector about rules that failed on an event
// or were skipped for the event's rule budget: each failing rule is named
// once on stderr, every failure and skip is counted in the metrics, and the
// totals close the run (see lines).
type ruleTrouble struct {
	metrics *metrics.Metrics // nil: none
	stderr  io.Writer
}

// loadRules reads a rule file; a problem in it is bad input (exit 2).
func loadRules(path string) (*detect.Rules, error) {
	rules, err := detect.LoadRules(path)
	if _, bad := errors.AsType[*detect.RuleError](err); bad {
		return nil, usageError{err}
	}
	return rules, err
}

func (r *ruleTrouble) RuleFailed(rule string, err error, n uint64) {
	if r.metrics != nil {
		r.metrics.RuleError(rule)
	}
	if n == 1 {
		// The error may quote event data (a comm, a name).
		fmt.Fprintf(r.stderr, "nstrace: rule %s: %s (further errors counted)\n",
			render.Sanitize(rule), render.Sanitize(err.Error()))
	}
}

func (r *ruleTrouble) RulesSkipped(*event.Event, int) {
	if r.metrics != nil {
		r.metrics.RuleBudgetExceeded()
	}
}

// lines are the closing lines on failing and skipped rules; none when all
// went well.
func (r *ruleTrouble) lines(d *detect.Detector) []string {
	var out []string
	if errs := d.RuleErrors(); len(errs) > 0 {
		parts := make([]string, len(errs))
		for i, e := range errs {
			parts[i] = fmt.Sprintf("%s %d", e.Rule, e.Count)
		}
		out = append(out, "rule errors: "+render.Sanitize(strings.Join(parts, ", ")))
	}
	if events, rules := d.Skipped(); events > 0 {
		out = append(out, fmt.Sprintf("rule budget exceeded on %d events: %d rule evaluations skipped", events, rules))
	}
	return out
}
