package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/inventory"
	"github.com/nstrace/nstrace/tracer/render"
	"github.com/nstrace/nstrace/tracer/runtime"
)

// newLsCommand is `nstrace ls`: the namespaces on the host now.
func newLsCommand() *cobra.Command {
	var output string
	var types []string
	var rt runtimeFlags
	cmd := &cobra.Command{
		Use:   "ls [-o text|json] [--type T]",
		Short: "List the namespaces on the host now",
		Long: "List every namespace on the host, like lsns, with what it is: the host's own,\n" +
			"its `ip netns` name, its container, pod or unit (named by the container\n" +
			"runtimes where they answer), its owner. Namespaces kept\n" +
			"alive only by a bind mount or an open file are listed too.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("ls takes no arguments, got %q (--type T lists one type)", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			eps, err := rt.config()
			if err != nil {
				return err
			}
			return runLs(cmd.OutOrStdout(), output, types, eps)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, or json (JSON Lines, one namespace per line)")
	cmd.Flags().StringSliceVarP(&types, "type", "t", nil, "list only these types: "+lsTypeNames())
	rt.register(cmd.Flags())
	return cmd
}

func runLs(w io.Writer, output string, typeNames []string, runtimes []runtime.Endpoint) error {
	if output != "text" && output != "json" {
		return usageError{fmt.Errorf("unknown output format %q (want text or json)", output)}
	}
	want := make(map[event.NsType]bool)
	for _, name := range typeNames {
		t, ok := inventory.ParseType(name)
		if !ok {
			return usageError{fmt.Errorf("unknown namespace type %q (want one of %s)", name, lsTypeNames())}
		}
		want[t] = true
	}
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		return err
	}
	labelLs(runtimes, inv)
	ns := inv.Namespaces
	if len(want) > 0 {
		ns = ns[:0]
		for _, n := range inv.Namespaces {
			if want[n.Type] {
				ns = append(ns, n)
			}
		}
	}
	if output == "json" {
		return render.WriteNamespaceJSON(w, ns)
	}
	return render.WriteNamespaceTable(w, ns)
}

func lsTypeNames() string {
	s := ""
	for i, t := range inventory.Types {
		if i > 0 {
			s += ","
		}
		s += t.String()
	}
	return s
}
