package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/metrics"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
)

// Rules that fail on events are named once on stderr, when they first
// fail, and counted at the end.
func TestRuleErrorsAreReportedOnceAndSummarised(t *testing.T) {
	path := alertSession(t)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(`rules:
  - name: sixth-change
    match: event == "setns" && changes[5].type == "net"
  - name: per-uid
    match: 100 / uid > 1
  - name: fine
    match: comm == "nobody-has-this"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var setns, root int
	for _, ev := range scenarioEvents(t) {
		if ev.Kind == event.Setns && !ev.Failed() {
			setns++
		}
		if ev.UID == 0 {
			root++
		}
	}
	if setns == 0 || root == 0 {
		t.Fatal("the scenario has no setns or no root events")
	}
	// The recording starts with root's unshare: per-uid fails first.
	want := []string{
		"nstrace: rule per-uid: division by zero (further errors counted)",
		"nstrace: rule sixth-change: index out of bounds: 5 (further errors counted)",
		fmt.Sprintf("nstrace: rule errors: sixth-change %d, per-uid %d", setns, root),
	}
	for _, cmd := range [][]string{
		{"replay", "--alerts-only"},
		{"report", "-o", filepath.Join(t.TempDir(), "r.html")},
	} {
		_, stderr, code := nstrace(t, nil, append(cmd, "--rules", rules, path)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", cmd[0], code, stderr)
		}
		var trouble []string
		for _, l := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(l, "nstrace: rule") {
				trouble = append(trouble, l)
			}
		}
		if !slices.Equal(trouble, want) {
			t.Errorf("%s: stderr rule lines\n%s\nwant\n%s\n(all of stderr:\n%s)", cmd[0], strings.Join(trouble, "\n"), strings.Join(want, "\n"), stderr)
		}
	}
}

// A rule too costly to run on every event is refused before anything
// starts: one line naming the file, the line and the rule; exit 2.
func TestCostlyRuleIsRefusedWithItsLine(t *testing.T) {
	list := make([]string, 2000)
	for i := range list {
		list[i] = fmt.Sprint(i)
	}
	n := "[" + strings.Join(list, ",") + "]"
	rules := filepath.Join(t.TempDir(), "costly.yaml")
	if err := os.WriteFile(rules, []byte(fmt.Sprintf(`version: 1
rules:
  - name: ok
    match: event == "setns"
  - name: quadratic
    match: '%s.all(x, %s.all(y, x != y || x == y))'
`, n, n)), 0o644); err != nil {
		t.Fatal(err)
	}
	session := alertSession(t)
	for _, cmd := range [][]string{{"replay", session}, {"report", session}, {"trace"}} {
		_, stderr, code := nstrace(t, nil, append(cmd, "--rules", rules)...)
		if code != 2 || strings.Count(stderr, "\n") != 1 ||
			!strings.HasPrefix(stderr, `nstrace: costly.yaml:6: rule "quadratic": match: estimated cost up to `) ||
			!strings.HasSuffix(stderr, " per event, over the limit of 10000 (a comprehension over a long list?)\n") {
			t.Errorf("%s: exit %d, stderr %q", cmd[0], code, stderr)
		}
	}
}

// What the detector says about failing and skipped rules reaches the
// metrics and the closing lines.
func TestRuleTroubleReachesMetricsAndSummary(t *testing.T) {
	rules, err := detect.ParseRules("rules.yaml", []byte(`rules:
  - {name: zero, match: '1 / uid == 1'}
  - {name: first, match: 'comm == "sh"'}
  - {name: second, match: 'comm.startsWith("s")'}
  - {name: third, match: 'comm.endsWith("h")'}
`))
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	m := metrics.New()
	// Budget 0: the first rule an event could match runs, the rest are skipped.
	det := newDetection(rules, m, &stderr, detect.WithRuleBudget(0))
	p := pipeline.New(pipeline.Options{Detector: det.detector(), Observer: m})
	for range 3 {
		if err := p.Event(&event.Event{Kind: event.Setns, Pid: 1, Tid: 1, Comm: "sh"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := stderr.String(), "nstrace: rule zero: division by zero (further errors counted)\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if got, want := alertSummary(p, det), "rule errors: zero 3\nnstrace: rule budget exceeded on 3 events: 9 rule evaluations skipped"; got != want {
		t.Errorf("summary %q\nwant    %q", got, want)
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if c := m.GetCounter(); c != nil && strings.HasPrefix(f.GetName(), "nstrace_rule") {
				key := f.GetName()
				for _, l := range m.GetLabel() {
					key += "/" + l.GetValue()
				}
				got[key] = c.GetValue()
			}
		}
	}
	want := map[string]float64{"nstrace_rule_errors_total/zero": 3, "nstrace_rule_budget_exceeded_total": 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
}
