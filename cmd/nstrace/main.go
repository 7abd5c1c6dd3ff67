// Command nstrace traces Linux namespaces being created and joined.
package main

import (
	"os"

	"github.com/nstrace/nstrace/tracer/command"
)

func main() { os.Exit(command.Main()) }
