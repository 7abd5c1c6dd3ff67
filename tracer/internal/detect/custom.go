package detect

import (
	"github.com/nstrace/nstrace/tracer/event"
)

// Observer hears what went wrong running rule expressions, on the
// goroutine that calls Check. The detector also keeps the totals
// (RuleErrors, Skipped).
type Observer interface {
	// RuleFailed: rule's expression could not be evaluated on an event (an
	// index out of range, a division by zero, the cost limit); the rule did
	// not match. n counts the failures of this rule so far: 1 the first time.
	RuleFailed(rule string, err error, n uint64)
	// RulesSkipped: the event's rule budget ran out with this many of the
	// rules it could match not run.
	RulesSkipped(ev *event.Event, rules int)
}

// WithObserver tells o about failing rules and skipped ones.
func WithObserver(o Observer) Option { return func(opt *options) { opt.observer = o } }

// WithRuleBudget sets the cost of rules one event may use
// (DefaultRuleBudget); past it the event's remaining rules are skipped.
func WithRuleBudget(cost uint64) Option { return func(o *options) { o.budget = cost } }

// RuleErrorCount is how often one rule's expression failed.
type RuleErrorCount struct {
	Rule  string
	Count uint64
}

// RuleErrors lists the rules that failed on some event, in rule order.
func (d *Detector) RuleErrors() []RuleErrorCount {
	var out []RuleErrorCount
	for i, n := range d.errs {
		if n != 0 {
			out = append(out, RuleErrorCount{Rule: d.ruleName(i), Count: n})
		}
	}
	return out
}

// Skipped counts the events whose rule budget ran out, and the rule
// evaluations that left out.
func (d *Detector) Skipped() (events, rules uint64) {
	return d.skippedEvents, d.skippedRules
}

// ruleName names rule i: the built-ins, then the file's rules.
func (d *Detector) ruleName(i int) string {
	if i < numBuiltins {
		return Builtins[i].Name
	}
	return d.rules.custom[i-numBuiltins].name
}

// holds evaluates rule i's expression p on the event in d.act,
// charging its cost to the event; a failure counts against the rule and
// does not hold.
func (d *Detector) holds(i int, p *program) bool {
	ok, cost, err := p.eval(&d.act)
	d.spent += cost
	if err != nil {
		d.errs[i]++
		if d.o.observer != nil {
			d.o.observer.RuleFailed(d.ruleName(i), err, d.errs[i])
		}
		return false
	}
	return ok
}

// checkCustom runs the rule file's rules that ev could match, in file
// order, until the event's budget is spent.
func (d *Detector) checkCustom(ev *event.Event) {
	other, byComm := d.rules.dispatch.candidates(ev)
	if len(other)+len(byComm) == 0 {
		return
	}
	types := changeTypes(ev)
	for len(other)+len(byComm) > 0 {
		var i int32
		if len(byComm) == 0 || len(other) > 0 && other[0] < byComm[0] {
			i, other = other[0], other[1:]
		} else {
			i, byComm = byComm[0], byComm[1:]
		}
		r := d.rules.custom[i]
		if r.need.types != allTypes && r.need.types&types == 0 {
			continue
		}
		if d.spent > d.o.budget {
			d.skip(ev, types, i, other, byComm)
			return
		}
		n := numBuiltins + int(i)
		if !d.holds(n, r.match) || r.unless != nil && d.holds(n, r.unless) {
			continue
		}
		var msg string
		if r.message != "" {
			msg = r.message + ": " + string(appendWho(nil, ev))
		} else {
			msg = string(appendWho(nil, ev)) + ": " + ev.Kind.String() + " matched rule " + r.name
		}
		d.newAlert(ev, r.name, r.severity, msg, nil)
	}
}

// skip counts rule i and the remaining candidates that ev could match as
// skipped.
func (d *Detector) skip(ev *event.Event, types uint16, i int32, other, byComm []int32) {
	n := 1
	for _, rest := range [...][]int32{other, byComm} {
		for _, j := range rest {
			if t := d.rules.custom[j].need.types; t == allTypes || t&types != 0 {
				n++
			}
		}
	}
	d.skippedEvents++
	d.skippedRules += uint64(n)
	if d.o.observer != nil {
		d.o.observer.RulesSkipped(ev, n)
	}
}
