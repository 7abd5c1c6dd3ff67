package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// nstrace rules -o json with a rule file: every built-in, most specific
// first, as the file leaves them (one off, one with another severity),
// then flood, then the file's rule with its match as the condition.
func TestRulesListsTheBuiltinsAsAFileLeavesThem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rules.yaml")
	yaml := `builtin:
  userns-in-container: false
  unprivileged-userns:
    severity: notice
rules:
  - name: shell-joins-netns
    severity: info
    message: a shell joined a network namespace
    match: event == "setns" && comm == "sh"
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := nstrace(t, nil, "rules", "--rules", file, "-o", "json")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	type listing struct {
		Name, Severity, Condition string
		Enabled, Builtin          bool
		Mitre                     []string
	}
	var got []listing
	for line := range strings.SplitSeq(strings.TrimSuffix(stdout, "\n"), "\n") {
		var l listing
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got = append(got, l)
	}
	var names []string
	for _, l := range got {
		names = append(names, l.Name)
	}
	want := []string{"host-namespace-entry", "cross-container-join", "host-process-enters-container",
		"container-shares-host-namespace", "userns-in-container", "unshare-without-cap-sys-admin", "unprivileged-userns",
		"denied-namespace-change", "flood", "shell-joins-netns"}
	if !slices.Equal(names, want) {
		t.Fatalf("rules %v, want %v", names, want)
	}
	for _, c := range []struct {
		i        int
		sev      string
		enabled  bool
		builtin  bool
		mitre    []string
		condHave string
	}{
		{2, "warning", true, true, []string{"T1609"}, "never by comm"},
		{3, "warning", true, true, []string{"T1611"}, "host's net, pid, ipc or uts namespace"},
		{4, "warning", false, true, []string{"T1611"}, "creates a user namespace"},
		{6, "notice", true, true, []string{"T1068"}, "non-root uid"},
		{9, "info", true, false, nil, `event == "setns" && comm == "sh"`},
	} {
		l := got[c.i]
		if l.Severity != c.sev || l.Enabled != c.enabled || l.Builtin != c.builtin ||
			!slices.Equal(l.Mitre, c.mitre) && len(c.mitre)+len(l.Mitre) > 0 || !strings.Contains(l.Condition, c.condHave) {
			t.Errorf("%s: %+v", l.Name, l)
		}
	}
}

// Bad usage of nstrace rules: one line, exit status 2.
func TestRulesBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rules", "x"}, `nstrace: rules takes no arguments, got "x" (--rules FILE reads a rule file)` + "\n"},
		{[]string{"rules", "-o", "yaml"}, `nstrace: unknown output format "yaml" (want text or json)` + "\n"},
	} {
		stdout, stderr, code := nstrace(t, nil, tc.args...)
		if code != 2 || stderr != tc.want || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want 2 and %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
}
