package detect

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestRuleFilesThatLoad(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		enabled []string
	}{
		{"an empty file changes nothing", "", allBuiltins()},
		{"a comment-only file changes nothing", "# nothing yet\n", allBuiltins()},
		{"built-ins can be switched off, long and short", `
version: 1
builtin:
  denied-namespace-change: false
  unprivileged-userns:
    enabled: false
`, []string{RuleHostNamespaceEntry, RuleCrossContainerJoin, RuleHostProcessEntersContainer, RuleUsernsInContainer,
			RuleUnshareWithoutCapSysAdmin, RuleContainerSharesHostNamespace}},
		{"rules are added after the built-ins; disabled ones are left out", `
rules:
  - name: shell-joins-netns
    severity: notice
    message: a shell joined a network namespace
    match: >
      event == "setns" && comm in ["sh", "bash"] &&
      changes.exists(c, c.type == "net" && c.action == "join")
  - name: parked
    enabled: false
    match: "true"
`, append(allBuiltins(), "shell-joins-netns")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRules("rules.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Enabled(); !slices.Equal(got, c.enabled) {
				t.Errorf("enabled %v, want %v", got, c.enabled)
			}
		})
	}
}

func TestRuleFilesThatDoNotLoadSayWhereAndWhy(t *testing.T) {
	cases := []struct{ name, yaml, err string }{
		{"a YAML syntax error", "builtin: [\n", "rules.yaml:1: did not find expected node content"},
		{"an undeclared variable", `
rules:
  - name: x
    match: foo == 1
`, `rules.yaml:4: rule "x": match: undeclared reference to 'foo'`},
		{"a misspelt field on the second line of a block", `
rules:
  - name: x
    match: |
      event == "setns" &&
      changes.exists(c, c.tpye == "net")
`, `rules.yaml:6: rule "x": match: undefined field 'tpye'`},
		{"an expression that is not a condition", `
rules:
  - name: x
    match: comm
`, `rules.yaml:4: rule "x": match: yields string, want bool`},
		{"a syntax error in an expression", `
rules:
  - name: y
    severity: notice
    match: event == 
`, `rules.yaml:5: rule "y": match: Syntax error`},
		{"an unknown severity", `
builtin:
  host-namespace-entry:
    severity: urgent
`, `rules.yaml:4: rule "host-namespace-entry": severity "urgent": want info, notice, warning or critical`},
		{"an unknown built-in", `
builtin:
  host-escape: false
`, `rules.yaml:3: rule "host-escape": no such built-in rule`},
		{"a rule named like a built-in", `
rules:
  - name: host-namespace-entry
    match: "true"
`, `rules.yaml:3: rule "host-namespace-entry": is a built-in; change it under builtin:`},
		{"a rule without match", `
rules:
  - name: z
`, `rules.yaml:3: rule "z": a rule needs match`},
		{"a rule without a name", `
rules:
  - match: "true"
`, `rules.yaml:3: a rule needs a name`},
		{"a rule defined twice", `
rules:
  - {name: a, match: "true"}
  - {name: a, match: "false"}
`, `rules.yaml:4: rule "a": defined twice`},
		{"an unknown key", `
rules:
  - name: a
    when: "true"
`, `rules.yaml:4: rule "a": unknown key "when"`},
		{"an unknown top-level key", "rule: []\n", `rules.yaml:1: unknown key "rule"`},
		{"a future version", "version: 2\n", `rules.yaml:1: version "2": this nstrace reads version 1`},
		{"an unless that is not a condition", `
builtin:
  unprivileged-userns:
    unless: uid + 1
`, `rules.yaml:4: rule "unprivileged-userns": unless: yields int, want bool`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRules("rules.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("loaded; want an error containing %q", c.err)
			}
			if !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %q\nwant it to contain %q", err, c.err)
			}
		})
	}
}

func TestLoadRulesNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte("rules:\n  - name: a\n    match: nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRules(path); err == nil || !strings.HasPrefix(err.Error(), "mine.yaml:3: ") {
		t.Errorf("error %v, want it to start with mine.yaml:3:", err)
	}
	if _, err := LoadRules(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}

// The rule file changes what the detector does, as documented.
func TestRuleFileChangesBehaviour(t *testing.T) {
	rules, err := ParseRules("rules.yaml", []byte(`
builtin:
  denied-namespace-change: false
  host-namespace-entry:
    severity: warning
  unprivileged-userns:
    unless: comm == "bwrap"
rules:
  - name: shell-joins-netns
    severity: notice
    message: a shell joined a network namespace
    match: >
      event == "setns" && comm in ["sh", "bash"] &&
      changes.exists(c, c.type == "net" && c.action == "join" && !c.host)
  - name: runc-container
    severity: info
    match: container.runtime == "runc" && "CLONE_NEWNET" in flags && time > timestamp("2020-01-01T00:00:00Z")
`))
	if err != nil {
		t.Fatal(err)
	}
	d := New(rules, WithInventory(hostInventory()), WithoutFolding())
	now := time.Unix(2000000000, 0)
	check := func(ev *event.Event) []string {
		ev.Time = now
		var names []string
		for _, a := range d.Check(ev) {
			names = append(names, a.Rule+"/"+a.Severity.String()+"/"+a.Message)
		}
		return names
	}
	denied := &event.Event{Kind: event.Unshare, Pid: 1, Tid: 1, UID: 1000, Errno: syscall.EPERM, Flags: syscall.CLONE_NEWNET}
	if got := check(denied); len(got) != 0 {
		t.Errorf("a disabled built-in raised %v", got)
	}
	escape := setnsEv(2, 0, event.Change{Type: event.Mnt, Action: event.Join, From: hostMnt, To: 6000})
	check(escape)
	if got := check(setnsEv(2, 0, join(event.Net, 6001, hostNet))); len(got) != 1 || !strings.HasPrefix(got[0], "host-namespace-entry/warning/") {
		t.Errorf("host entry raised %v, want it at warning", got)
	}
	userns := func(comm string) *event.Event {
		return &event.Event{Kind: event.Unshare, Pid: 3, Tid: 3, UID: 1000, Comm: comm, Flags: syscall.CLONE_NEWUSER,
			Changes: []event.Change{{Type: event.User, Action: event.Create, From: hostUser, To: 9000}}}
	}
	if got := check(userns("bwrap")); len(got) != 0 {
		t.Errorf("the exception did not hold: %v", got)
	}
	if got := check(userns("unshare")); len(got) != 1 {
		t.Errorf("userns by unshare raised %v, want one alert", got)
	}
	shell := &event.Event{Kind: event.Setns, Pid: 4, Tid: 4, Comm: "bash", Flags: syscall.CLONE_NEWNET,
		Changes: []event.Change{{Type: event.Net, Action: event.Join, From: hostNet, To: 7000}}}
	if got := check(shell); !slices.Equal(got, []string{`shell-joins-netns/notice/a shell joined a network namespace: "bash" (pid 4)`}) {
		t.Errorf("custom rule raised %v", got)
	}
	runc := &event.Event{Kind: event.Unshare, Pid: 5, Tid: 5, Comm: "runc:[1:CHILD]", Flags: syscall.CLONE_NEWNET,
		Container: &event.Container{ID: "c1", Runtime: "runc"},
		Changes:   []event.Change{{Type: event.Net, Action: event.Create, From: hostNet, To: 7001}}}
	if got := check(runc); len(got) != 1 || !strings.HasPrefix(got[0], `runc-container/info/"runc:[1:CHILD]" (pid 5): unshare matched rule runc-container`) {
		t.Errorf("custom rule on container and flags raised %v", got)
	}
}

func allBuiltins() []string {
	return []string{RuleHostNamespaceEntry, RuleCrossContainerJoin, RuleUnprivilegedUserns, RuleDeniedChange,
		RuleHostProcessEntersContainer, RuleUsernsInContainer, RuleUnshareWithoutCapSysAdmin,
		RuleContainerSharesHostNamespace}
}
