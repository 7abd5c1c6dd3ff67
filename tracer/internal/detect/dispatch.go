package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"github.com/nstrace/nstrace/tracer/event"
)

// Thousands of rules must not cost thousands of evaluations per event: a
// rule's expression is read for what an event must be for it to hold (its
// kind, its comm, a change of some namespace type), and an event is shown
// only the rules it could satisfy. The analysis is conservative: a
// condition it does not understand narrows nothing, so a rule it cannot
// read at all runs on every event, as before.

// numKinds bounds the event kinds the dispatch tells apart; a kind past it
// reads as "unknown", like KindUnknown.
const numKinds = 16

const (
	allKinds = uint16(1<<numKinds - 1)
	// Change types, plus one bit for a type past the known ones ("unknown").
	allTypes = uint16(1)<<(event.NumNsTypes+1) - 1
)

func kindBit(k event.Kind) uint16 {
	if int(k) >= numKinds {
		k = event.KindUnknown
	}
	return 1 << k
}

func typeBit(t event.NsType) uint16 {
	return 1 << min(int(t), event.NumNsTypes)
}

// need is what an event must be for an expression to hold.
type need struct {
	kinds uint16   // one of these kinds (kindBit)
	comms []string // one of these comms, sorted; nil: any
	types uint16   // a change of one of these types (typeBit); allTypes: no change needed
}

var anything = need{kinds: allKinds, types: allTypes}

// classify reads e, a checked boolean expression. It refuses a comparison
// with an event kind or namespace type that does not exist: such a rule
// would never match.
func classify(e ast.Expr) (need, error) {
	var c classifier
	n, _ := c.need(e)
	return n, c.err
}

type classifier struct{ err error }

// need returns what e needs to be true, and the kinds on which it can be
// false (negation swaps the two).
func (c *classifier) need(e ast.Expr) (need, uint16) {
	if e.Kind() == ast.ComprehensionKind {
		return need{kinds: allKinds, types: c.existsTypes(e.AsComprehension())}, allKinds
	}
	if e.Kind() != ast.CallKind {
		return anything, allKinds
	}
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case operators.LogicalAnd:
		t, f := c.need(args[0])
		for _, a := range args[1:] {
			at, af := c.need(a)
			t = both(t, at)
			f |= af
		}
		return t, f
	case operators.LogicalOr:
		t, f := c.need(args[0])
		for _, a := range args[1:] {
			at, af := c.need(a)
			t = either(t, at)
			f &= af
		}
		return t, f
	case operators.LogicalNot:
		t, f := c.need(args[0])
		return need{kinds: f, types: allTypes}, t.kinds
	case operators.Conditional:
		ct, cf := c.need(args[0])
		at, af := c.need(args[1])
		bt, bf := c.need(args[2])
		t := need{kinds: ct.kinds&at.kinds | cf&bt.kinds, types: allTypes}
		return t, ct.kinds&af | cf&bf
	case operators.Equals, operators.NotEquals, operators.In:
		if len(args) != 2 {
			break
		}
		values, ok := literalStrings(args[1])
		name := identName(args[0])
		if !ok && call.FunctionName() != operators.In {
			values, ok = literalStrings(args[0])
			name = identName(args[1])
		}
		if !ok {
			break
		}
		negated := call.FunctionName() == operators.NotEquals
		switch {
		case name == "event" && negated:
			m := c.kinds(values)
			return need{kinds: allKinds &^ m, types: allTypes}, m
		case name == "event":
			m := c.kinds(values)
			return need{kinds: m, types: allTypes}, allKinds &^ m
		case name == "comm" && !negated:
			return need{kinds: allKinds, comms: slices.Compact(slices.Sorted(slices.Values(values))), types: allTypes}, allKinds
		}
	}
	return anything, allKinds
}

// both: what two conditions that must both hold need.
func both(a, b need) need {
	n := need{kinds: a.kinds & b.kinds, types: a.types}
	// Each type condition alone is necessary; keep the narrower.
	if onesCount(b.types) < onesCount(a.types) {
		n.types = b.types
	}
	switch {
	case a.comms == nil:
		n.comms = b.comms
	case b.comms == nil:
		n.comms = a.comms
	default:
		n.comms = []string{}
		for _, s := range a.comms {
			if _, ok := slices.BinarySearch(b.comms, s); ok {
				n.comms = append(n.comms, s)
			}
		}
	}
	return n
}

// either: what one of two conditions holding needs.
func either(a, b need) need {
	n := need{kinds: a.kinds | b.kinds, types: a.types | b.types}
	if a.comms != nil && b.comms != nil {
		n.comms = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(a.comms), b.comms...))))
	}
	return n
}

func onesCount(m uint16) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// existsTypes reads `changes.exists(c, P)`: the change types P needs c to
// have. Other comprehensions need no particular change.
func (c *classifier) existsTypes(comp ast.ComprehensionExpr) uint16 {
	step := comp.LoopStep()
	if identName(comp.IterRange()) != "changes" || comp.HasIterVar2() ||
		!isBool(comp.AccuInit(), false) || step.Kind() != ast.CallKind ||
		step.AsCall().FunctionName() != operators.LogicalOr {
		return allTypes
	}
	args := step.AsCall().Args()
	if len(args) != 2 {
		return allTypes
	}
	pred := args[1]
	if identName(args[1]) == comp.AccuVar() {
		pred = args[0]
	} else if identName(args[0]) != comp.AccuVar() {
		return allTypes
	}
	return c.predTypes(pred, comp.IterVar())
}

// predTypes: the types v.type must have for e to hold.
func (c *classifier) predTypes(e ast.Expr, v string) uint16 {
	if e.Kind() != ast.CallKind {
		return allTypes
	}
	call := e.AsCall()
	args := call.Args()
	switch call.FunctionName() {
	case operators.LogicalAnd:
		m := allTypes
		for _, a := range args {
			m &= c.predTypes(a, v)
		}
		return m
	case operators.LogicalOr:
		m := uint16(0)
		for _, a := range args {
			m |= c.predTypes(a, v)
		}
		return m
	case operators.Equals, operators.In:
		if len(args) != 2 {
			return allTypes
		}
		field, values := args[0], args[1]
		if call.FunctionName() == operators.Equals && field.Kind() != ast.SelectKind {
			field, values = values, field
		}
		strs, ok := literalStrings(values)
		if !ok || field.Kind() != ast.SelectKind || field.AsSelect().FieldName() != "type" ||
			field.AsSelect().IsTestOnly() || identName(field.AsSelect().Operand()) != v {
			return allTypes
		}
		return c.types(strs)
	}
	return allTypes
}

// kinds maps event names to kind bits, refusing names no event has.
func (c *classifier) kinds(names []string) uint16 {
	var m uint16
	for _, s := range names {
		k, ok := event.ParseKind(s)
		if !ok && s == event.KindUnknown.String() {
			k, ok = event.KindUnknown, true
		}
		if !ok || k == event.Lost || k == event.Flood {
			c.fail("event is never %q (rules see %s)", s, strings.Join(ruleKinds(), ", "))
			continue
		}
		m |= kindBit(k)
	}
	return m
}

// ruleKinds names the event kinds rules see: all but loss and flood
// records, which the detector answers itself.
func ruleKinds() []string {
	var names []string
	for k := event.KindUnknown + 1; int(k) < numKinds; k++ {
		if n := k.String(); n != event.KindUnknown.String() && k != event.Lost && k != event.Flood {
			names = append(names, n)
		}
	}
	return names
}

// types maps namespace type names to type bits, refusing unknown names.
func (c *classifier) types(names []string) uint16 {
	var m uint16
	for _, s := range names {
		t, ok := event.ParseNsType(s)
		if !ok && s == "unknown" {
			t, ok = event.NsType(event.NumNsTypes), true
		}
		if !ok {
			c.fail("no namespace type %q (types: %s)", s, strings.Join(typeNames(), ", "))
			continue
		}
		m |= typeBit(t)
	}
	return m
}

func (c *classifier) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

func identName(e ast.Expr) string {
	if e.Kind() != ast.IdentKind {
		return ""
	}
	return e.AsIdent()
}

func isBool(e ast.Expr, want bool) bool {
	if e.Kind() != ast.LiteralKind {
		return false
	}
	b, ok := e.AsLiteral().(types.Bool)
	return ok && bool(b) == want
}

// literalStrings reads a string literal or a list of them.
func literalStrings(e ast.Expr) ([]string, bool) {
	switch e.Kind() {
	case ast.LiteralKind:
		s, ok := e.AsLiteral().(types.String)
		return []string{string(s)}, ok
	case ast.ListKind:
		l := e.AsList()
		if len(l.OptionalIndices()) > 0 {
			return nil, false
		}
		out := make([]string, 0, len(l.Elements()))
		for _, el := range l.Elements() {
			if el.Kind() != ast.LiteralKind {
				return nil, false
			}
			s, ok := el.AsLiteral().(types.String)
			if !ok {
				return nil, false
			}
			out = append(out, string(s))
		}
		return out, true
	}
	return nil, false
}

// dispatch indexes custom rules by what an event must be for them to hold.
type dispatch struct {
	kinds [numKinds]kindRules
}

type kindRules struct {
	byComm map[string][]int32 // rules that hold only for some comms, by comm
	other  []int32            // rules for any comm
}

func newDispatch(rules []*customRule) dispatch {
	var d dispatch
	for i, r := range rules {
		for k := range numKinds {
			if r.need.kinds&(1<<k) == 0 {
				continue
			}
			kr := &d.kinds[k]
			if r.need.comms == nil {
				kr.other = append(kr.other, int32(i))
				continue
			}
			if kr.byComm == nil {
				kr.byComm = make(map[string][]int32)
			}
			for _, comm := range r.need.comms {
				kr.byComm[comm] = append(kr.byComm[comm], int32(i))
			}
		}
	}
	return d
}

// candidates returns the rules ev could satisfy as two lists, each in rule
// order.
func (d *dispatch) candidates(ev *event.Event) (other, byComm []int32) {
	k := ev.Kind
	if int(k) >= numKinds {
		k = event.KindUnknown
	}
	kr := &d.kinds[k]
	if kr.byComm != nil {
		byComm = kr.byComm[ev.Comm]
	}
	return kr.other, byComm
}

// changeTypes is the typeBit of every change of ev.
func changeTypes(ev *event.Event) uint16 {
	var m uint16
	for i := range ev.Changes {
		m |= typeBit(ev.Changes[i].Type)
	}
	return m
}
