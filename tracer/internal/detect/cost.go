package detect

import (
	"errors"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
)

// Rule cost is counted in CEL's cost units (github.com/google/cel-go's
// checker.CostEstimate): about one per operation, a comprehension's body
// once per element.
const (
	// MaxRuleCost bounds one expression: a rule whose estimated worst case
	// on an event exceeds it is refused when the file is loaded, and an
	// evaluation that runs past it (see program.eval) stops with an error.
	MaxRuleCost = 10_000

	// DefaultRuleBudget bounds the rules run on one event: once their cost
	// passes it, the event's remaining rules are skipped and counted.
	DefaultRuleBudget = 100_000
)

// ErrRuleTooCostly marks a rule refused for its estimated cost.
var ErrRuleTooCostly = errors.New("rule too costly")

// Bounds on what a live event carries. Cost estimates hold for events within
// them; an event past them (only a crafted session file has one) is
// evaluated with cel-go's run-time cost tracking instead.
const (
	maxComm      = 16  // TASK_COMM_LEN
	maxText      = 255 // NAME_MAX: namespace names, container ids and names
	maxChanges   = event.NumNsTypes
	maxErrorName = 24 // "E" and an errno's digits, or its name
)

var (
	numFlagNames = len(cloneflags.Append(nil, ^uint64(0)))
	maxFlagName  = maxLen(cloneflags.Append(nil, ^uint64(0)))
	maxTypeName  = maxLen(append(typeNames(), "unknown"))
	maxKindName  = len("destroy")
)

func typeNames() []string {
	var names []string
	for t := range event.NsType(event.NumNsTypes) {
		names = append(names, t.String())
	}
	return names
}

func maxLen(ss []string) int {
	n := 0
	for _, s := range ss {
		n = max(n, len(s))
	}
	return n
}

// sizeEstimator tells cel-go's cost estimate how long the event's strings
// and lists can be, by the variable path CEL reports.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	size := processSize(path)
	switch last := path[len(path)-1]; {
	case size >= 0:
	case len(path) == 1 && last == "changes":
		size = maxChanges
	case len(path) == 1 && last == "flags":
		size = numFlagNames
	case path[0] == "flags" && last == "@items":
		size = maxFlagName
	case last == "comm":
		size = maxComm
	case last == "event":
		size = maxKindName
	case last == "error":
		size = maxErrorName
	case last == "type":
		size = maxTypeName
	case last == "action":
		size = len("destroy")
	case last == "name", last == "id", last == "runtime":
		size = maxText
	default:
		return nil
	}
	e := checker.FixedSizeEstimate(uint64(size))
	e.Min = 0
	return &e
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// fitsEstimates tells whether ev is within the bounds the cost estimates
// assume.
func fitsEstimates(ev *event.Event) bool {
	if len(ev.Comm) > maxComm || len(ev.Changes) > maxChanges || !containerFits(ev.Container) || !processFits(ev.Process) {
		return false
	}
	for i := range ev.Changes {
		if c := &ev.Changes[i]; len(c.Name) > maxText || !containerFits(c.Container) {
			return false
		}
	}
	return true
}

func containerFits(c *event.Container) bool {
	return c == nil || len(c.ID) <= maxText && len(c.Runtime) <= maxText && len(c.Name) <= maxText
}

// program is a compiled rule expression with its estimated worst case.
type program struct {
	fast cel.Program // no cost tracking: costs nothing beyond the evaluation
	cost uint64      // worst case on an event within the estimates' bounds

	env *cel.Env
	ast *cel.Ast
	// limited tracks cost and stops at MaxRuleCost, for events past the
	// estimates' bounds; made on first need, as most rule sets never meet
	// one and making it doubles the load time of a large file.
	once    sync.Once
	limited cel.Program
	err     error
}

// eval runs p on the event in a: whether it holds, the cost to charge
// against the event's budget, and why it could not be evaluated.
func (p *program) eval(a *activation) (bool, uint64, error) {
	if a.fits() {
		out, _, err := p.fast.Eval(a)
		if err != nil {
			return false, p.cost, err
		}
		b, _ := out.Value().(bool)
		return b, p.cost, nil
	}
	p.once.Do(func() {
		p.limited, p.err = p.env.Program(p.ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(MaxRuleCost))
	})
	if p.err != nil {
		return false, 0, p.err
	}
	out, det, err := p.limited.Eval(a)
	cost := uint64(MaxRuleCost)
	if det != nil && det.ActualCost() != nil {
		cost = *det.ActualCost()
	}
	if err != nil {
		return false, cost, err
	}
	b, _ := out.Value().(bool)
	return b, cost, nil
}
