package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

// numbers writes the CEL list [1, 2, ..., n].
func numbers(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint(i + 1)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// A rule that may cost too much per event is refused when the file is
// loaded, at its line; ordinary rules, comprehensions over the event's
// lists and regular expressions on its strings included, load.
func TestCostlyRulesAreRefusedAtTheirLine(t *testing.T) {
	n := numbers(2000)
	file := fmt.Sprintf(`rules:
  - name: cheap
    match: event == "setns" && changes.exists(c, c.type == "net" && c.name.matches("^[a-z]+-[0-9]+$"))
  - name: pairs
    match: changes.all(c, changes.all(d, c.to != d.to || c.type == d.type))
  - name: quadratic
    severity: notice
    match: '%s.all(x, %s.all(y, x + y > 1))'
`, n, n)
	_, err := ParseRules("rules.yaml", []byte(file))
	if !errors.Is(err, ErrRuleTooCostly) {
		t.Fatalf("loaded with %v; want ErrRuleTooCostly", err)
	}
	want := `rules.yaml:8: rule "quadratic": match: estimated cost up to `
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), " per event, over the limit of 10000 (a comprehension over a long list?)") {
		t.Errorf("error %q\nwant %q...", err, want)
	}
	rules, err := ParseRules("rules.yaml", []byte(file[:strings.Index(file, "  - name: quadratic")]))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules.custom {
		if r.match.cost == 0 || r.match.cost > MaxRuleCost {
			t.Errorf("%s: estimated cost %d", r.name, r.match.cost)
		}
	}
	// Strings count by their length: every pair of characters of every
	// namespace name is too much.
	_, err = ParseRules("rules.yaml", []byte(`rules:
  - name: r
    unless: "false"
    match: |
      event == "setns" &&
      changes.exists(c, c.name.split("").exists(a, c.name.split("").exists(b, a + b == "zz")))
`))
	if !errors.Is(err, ErrRuleTooCostly) || !strings.HasPrefix(err.Error(), `rules.yaml:4: rule "r": match: estimated cost without bound per event`) {
		t.Errorf("pairs of characters: %v", err)
	}
}

// trouble records what the detector tells its observer.
type trouble struct {
	failed  []string
	skipped []int
}

func (o *trouble) RuleFailed(rule string, err error, n uint64) {
	o.failed = append(o.failed, fmt.Sprintf("%s#%d: %v", rule, n, err))
}

func (o *trouble) RulesSkipped(_ *event.Event, n int) { o.skipped = append(o.skipped, n) }

// A rule that fails on an event does not match; each failure is counted
// against its rule and told to the observer, the first with n == 1.
func TestRuleErrorsAreCountedPerRule(t *testing.T) {
	rules, err := ParseRules("rules.yaml", []byte(`
builtin:
  unprivileged-userns:
    unless: 10 / (uid - 1000) == 1
rules:
  - name: sixth-change
    match: event == "setns" && changes[5].type == "net"
  - name: per-uid
    match: 100 / uid > 1
  - name: fine
    severity: info
    match: event == "setns"
`))
	if err != nil {
		t.Fatal(err)
	}
	var o trouble
	d := New(rules, WithInventory(hostInventory()), WithObserver(&o))
	for i := range 3 {
		d.Check(setnsEv(uint32(100+i), 0, join(event.Net, hostNet, 7000+uint32(i))))
	}
	// uid 1000 creating a user namespace: the built-in's exception fails,
	// so the alert is raised.
	userns := &event.Event{Kind: event.Unshare, Pid: 9, Tid: 9, UID: 1000, Comm: "unshare",
		Changes: []event.Change{{Type: event.User, Action: event.Create, From: hostUser, To: 9000}}}
	if got := names(d.Check(userns)); !slices.Equal(got, []string{RuleUnprivilegedUserns}) {
		t.Errorf("userns by uid 1000 raised %v", got)
	}
	wantFailed := []string{
		"sixth-change#1: index out of bounds: 5",
		"per-uid#1: division by zero",
		"sixth-change#2: index out of bounds: 5",
		"per-uid#2: division by zero",
		"sixth-change#3: index out of bounds: 5",
		"per-uid#3: division by zero",
		"unprivileged-userns#1: division by zero",
	}
	if !slices.Equal(o.failed, wantFailed) {
		t.Errorf("observer heard\n%s\nwant\n%s", strings.Join(o.failed, "\n"), strings.Join(wantFailed, "\n"))
	}
	want := []RuleErrorCount{{RuleUnprivilegedUserns, 1}, {"sixth-change", 3}, {"per-uid", 3}}
	if got := d.RuleErrors(); !slices.Equal(got, want) {
		t.Errorf("RuleErrors %v, want %v", got, want)
	}
}

func names(alerts []Alert) []string {
	var s []string
	for _, a := range alerts {
		s = append(s, a.Rule)
	}
	return s
}

// Once an event's rules have cost more than the budget, its remaining
// rules are skipped, and counted.
func TestRuleBudgetSkipsTheRestOfAnEvent(t *testing.T) {
	rules, err := ParseRules("rules.yaml", []byte(`rules:
  - {name: a, match: 'comm.startsWith("sh")'}
  - {name: b, match: 'comm.startsWith("sh")'}
  - {name: c, match: 'comm.startsWith("sh")'}
  - {name: d, match: 'comm.startsWith("sh")'}
  - {name: e, match: 'event == "setns" && comm.startsWith("sh")'}
  - {name: f, match: 'event == "clone" && comm.startsWith("sh")'}
`))
	if err != nil {
		t.Fatal(err)
	}
	cost := rules.custom[0].match.cost
	var o trouble
	d := New(rules, WithInventory(hostInventory()), WithObserver(&o), WithRuleBudget(2*cost))
	ev := setnsEv(5, 0, join(event.Net, hostNet, 7000))
	ev.Comm = "sh"
	// a and b spend the budget, c overspends it: d and e are skipped (f
	// cannot match a setns).
	if got := names(d.Check(ev)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("raised %v, want a b c", got)
	}
	if events, rules := d.Skipped(); events != 1 || rules != 2 || !slices.Equal(o.skipped, []int{2}) {
		t.Errorf("skipped %d events, %d rules; observer %v", events, rules, o.skipped)
	}
	// The budget is per event.
	ev.Comm = "bash"
	if got := names(d.Check(ev)); len(got) != 0 {
		t.Errorf("bash raised %v", got)
	}
	if events, rules := d.Skipped(); events != 2 || rules != 4 {
		t.Errorf("skipped %d events, %d rules after the second", events, rules)
	}
}

// An event past what live tracing can produce (a crafted session file) is
// evaluated with cel-go's cost tracking, and stopped at the limit.
func TestOversizedEventsStopAtTheCostLimit(t *testing.T) {
	rules, err := ParseRules("rules.yaml", []byte(`rules:
  - name: pairs
    match: changes.all(c, changes.all(d, c.to != d.to || c.type == d.type))
  - name: shell
    match: comm == "sh"
`))
	if err != nil {
		t.Fatal(err)
	}
	var o trouble
	d := New(rules, WithObserver(&o), WithoutFolding())
	big := &event.Event{Kind: event.Unshare, Pid: 3, Tid: 3, Comm: "sh"}
	for i := range 2000 {
		big.Changes = append(big.Changes, event.Change{Type: event.Net, Action: event.Create, From: hostNet, To: 5000 + uint32(i)})
	}
	if got := names(d.Check(big)); !slices.Equal(got, []string{"shell"}) {
		t.Errorf("raised %v, want shell", got)
	}
	if !slices.Equal(o.failed, []string{"pairs#1: operation cancelled: actual cost limit exceeded"}) {
		t.Errorf("observer heard %q", o.failed)
	}
	// Within bounds the same rule holds, untracked.
	small := &event.Event{Kind: event.Unshare, Pid: 3, Tid: 3, Comm: "sh", Changes: big.Changes[:2]}
	if got := names(d.Check(small)); !slices.Equal(got, []string{"pairs", "shell"}) {
		t.Errorf("raised %v, want pairs shell", got)
	}
}

// userns, the caller's user namespace, can be used in rules.
func TestRulesSeeUserns(t *testing.T) {
	rules, err := ParseRules("rules.yaml", []byte(`rules:
  - name: outside-host-userns
    match: userns != 4026531837 && event == "unshare"
`))
	if err != nil {
		t.Fatal(err)
	}
	d := New(rules, WithInventory(hostInventory()), WithoutFolding())
	ev := &event.Event{Kind: event.Unshare, Pid: 3, Tid: 3, UserNS: hostUser,
		Changes: []event.Change{{Type: event.UTS, Action: event.Create, From: hostUTS, To: 6001}}}
	if got := names(d.Check(ev)); len(got) != 0 {
		t.Errorf("host userns raised %v", got)
	}
	ev.UserNS, ev.Changes[0].To = 4026532999, 6002
	if got := names(d.Check(ev)); !slices.Equal(got, []string{"outside-host-userns"}) {
		t.Errorf("another userns raised %v", got)
	}
}
