package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Completion of flag values (`nstrace --type <TAB>`), beside cobra's own of
// commands and flag names. Flags are found by name on every command, so a
// flag added later with one of these names completes too.

// nsTypeNames are the types the filters take (--type).
var nsTypeNames = []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

// flagValues are the values of the flags that take one of a few words,
// by command ("" for any) and flag name.
func flagValues(cmd, flag string) (values []string, list bool) {
	switch {
	case flag == "output" && cmd == "ls":
		return []string{"text", "json"}, false
	case flag == "output" && cmd == "report":
		return []string{"html"}, false
	case flag == "output":
		return []string{"text", "wide", "json"}, false
	case flag == "type" && cmd == "ls":
		return strings.Split(lsTypeNames(), ","), true
	case flag == "type":
		return nsTypeNames, true
	case flag == "event":
		return []string{"clone", "unshare", "setns", "exec"}, true
	case flag == "hooks":
		return []string{"auto", "tracepoint", "fentry"}, false
	}
	return nil, false
}

// registerCompletions gives every flag of root's commands that takes one of
// a few words its completion, and the rule file flag YAML files.
func registerCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if values, list := flagValues(c.Name(), f.Name); values != nil {
				_ = c.RegisterFlagCompletionFunc(f.Name, complete(values, list)) // fails only for a flag registered twice
			}
			if f.Name == "rules" {
				_ = c.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions([]string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt))
			}
		})
	}
}

// complete offers values; for a list flag (--type net,uts), the values
// not given yet after what is typed up to the last comma.
func complete(values []string, list bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		prefix, given := "", map[string]bool{}
		if i := strings.LastIndexByte(toComplete, ','); list && i >= 0 {
			prefix = toComplete[:i+1]
			for _, v := range strings.Split(toComplete[:i], ",") {
				given[v] = true
			}
		}
		var out []string
		for _, v := range values {
			if !given[v] && strings.HasPrefix(prefix+v, toComplete) {
				out = append(out, prefix+v)
			}
		}
		directive := cobra.ShellCompDirectiveNoFileComp
		if list {
			directive |= cobra.ShellCompDirectiveNoSpace
		}
		return out, directive
	}
}
