package command

import "github.com/nstrace/nstrace/tracer/internal/nsbench"

// Nsbench runs nsbench (cmd/nsbench) on os.Args and returns its exit status.
func Nsbench() int { return nsbench.Main() }
