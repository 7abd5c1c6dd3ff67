// Package cli is the nstrace command line. It is internal: cmd/nstrace runs it
// through tracer/command.Main.
package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Main runs nstrace on os.Args and returns its exit status: 0, 1 when
// it failed, 2 for bad usage.
func Main() int {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "nstrace: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

func run(args []string) error {
	root := &cobra.Command{
		Use:           "nstrace",
		Short:         "Trace Linux namespaces being created and joined",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTraceCommand(), newReplayCommand(), newLsCommand(), newReportCommand())
	root.AddCommand(newVerifyCommand(), newVersionCommand(), newRulesCommand())
	root.SetVersionTemplate(versionLine())
	registerCompletions(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	args = withDefaultCommand(root, args)
	if err := unknownCommand(root, args); err != nil {
		return err
	}
	root.SetArgs(args)
	return root.Execute()
}

// withDefaultCommand makes `nstrace [flags]` mean `nstrace trace [flags]`.
func withDefaultCommand(root *cobra.Command, args []string) []string {
	if len(args) == 0 {
		return []string{"trace"}
	}
	switch args[0] {
	case "__complete", "__completeNoDesc":
		// The shell asks about a command line: `nstrace --type <TAB>`
		// is trace's.
		if len(args) > 1 && strings.HasPrefix(args[1], "-") {
			return append([]string{args[0], "trace"}, args[1:]...)
		}
		return args
	case "-h", "--help", "-v", "--version", "help", "completion":
		return args
	}
	if cmd, _, err := root.Find(args); err == nil && cmd != root {
		return args
	}
	if !strings.HasPrefix(args[0], "-") {
		return args // a word where a command goes: unknownCommand names it
	}
	return append([]string{"trace"}, args...)
}

// usageArgs makes an argument check's complaint a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// usageError marks bad flags or arguments: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// unknownCommand refuses a first word that names no command, in one line
// and with the commands it is close to (cobra's own message spans lines).
func unknownCommand(root *cobra.Command, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil
	}
	if cmd, _, err := root.Find(args[:1]); err == nil && cmd != root {
		return nil
	}
	if args[0] == "help" || strings.HasPrefix(args[0], "__complete") {
		return nil
	}
	root.InitDefaultCompletionCmd()
	word := args[0] // %q escapes what a terminal would obey
	if s := root.SuggestionsFor(args[0]); len(s) > 0 {
		return usageError{fmt.Errorf("unknown command %q (did you mean %s?)", word, strings.Join(s, " or "))}
	}
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usageError{fmt.Errorf("unknown command %q (commands: %s)", word, strings.Join(names, ", "))}
}
