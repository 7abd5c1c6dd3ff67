// Package command is the nstrace command line for cmd/nstrace, whose
// main.go is a few lines: the command's code lives in tracer/internal/cli,
// which Go lets only code under tracer/ import.
package command

import "github.com/nstrace/nstrace/tracer/internal/cli"

// Main runs nstrace on os.Args and returns the process's exit status: 0, 1
// when it failed, 2 for bad usage (a flag or argument it does not take).
func Main() int { return cli.Main() }
