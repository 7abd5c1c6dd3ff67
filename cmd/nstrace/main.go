// Command nstrace traces Linux namespaces being created and joined.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "nstrace: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
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
	root.AddCommand(newVerifyCommand(), newRulesCommand())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetArgs(withDefaultCommand(root, args))
	return root.Execute()
}

// withDefaultCommand makes `nstrace [flags]` mean `nstrace trace [flags]`.
func withDefaultCommand(root *cobra.Command, args []string) []string {
	if len(args) == 0 {
		return []string{"trace"}
	}
	switch args[0] {
	case "-h", "--help", "--version", "help", "completion", "__complete":
		return args
	}
	if cmd, _, err := root.Find(args); err == nil && cmd != root {
		return args
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
