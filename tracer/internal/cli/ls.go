package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

// lsFlags are ls's flags, lsns's where lsns has them.
type lsFlags struct {
	output string
	types  []string
	pid    uint32 // -p: the namespaces of this process
	tree   string // -T: "owner" or "parent"; "" for a flat list
	rt     runtimeFlags
}

// newLsCommand is `nstrace ls`: the namespaces on the host now.
func newLsCommand() *cobra.Command {
	var f lsFlags
	cmd := &cobra.Command{
		Use:   "ls [NS] [-p PID] [-T] [-o text|json] [--type T]",
		Short: "List the namespaces on the host now",
		Long: "List every namespace on the host, like lsns, with what it is: the host's own,\n" +
			"its `ip netns` name, its container, pod or unit, its owner. Namespaces kept\n" +
			"alive only by a bind mount or an open file are listed too, with what holds them.\n" +
			"NS is an inode (4026531840, or net:[4026531840]) or a type (net).\n" +
			"-T draws the user namespaces with the namespaces each owns, as lsns -T does;\n" +
			"--tree=parent draws the pid and user namespaces under their parents.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("ls takes one namespace, got %q and %q", args[0], args[1])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLs(cmd.OutOrStdout(), &f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text, or json (JSON Lines, one namespace per line)")
	fl.StringSliceVarP(&f.types, "type", "t", nil, "list only these types: "+lsTypeNames())
	fl.Uint32VarP(&f.pid, "task", "p", 0, "list only the namespaces of this process (as lsns -p)")
	fl.StringVarP(&f.tree, "tree", "T", "", "draw a tree: owner (user namespaces and what each owns; -T alone) or parent (pid and user namespaces)")
	fl.Lookup("tree").NoOptDefVal = "owner"
	f.rt.register(fl)
	return cmd
}

// lsQuery is what ls is asked to list.
type lsQuery struct {
	types  map[event.NsType]bool
	inodes map[uint64]bool
	task   map[inventory.Key]bool
}

func (q *lsQuery) want(n *inventory.Namespace) bool {
	return (len(q.types) == 0 || q.types[n.Type]) && (len(q.inodes) == 0 || q.inodes[uint64(n.Inode)]) &&
		(q.task == nil || q.task[inventory.KeyOf(n.Type, n.Inode)])
}

func (f *lsFlags) query(args []string) (*lsQuery, error) {
	q := &lsQuery{types: map[event.NsType]bool{}, inodes: map[uint64]bool{}}
	switch {
	case f.output != "text" && f.output != "json":
		return nil, usageError{fmt.Errorf("unknown output format %q (want text or json)", f.output)}
	case f.tree != "" && f.tree != "owner" && f.tree != "parent":
		return nil, usageError{fmt.Errorf("--tree %q: want owner or parent", f.tree)}
	case f.tree != "" && f.output == "json":
		return nil, usageError{errors.New("--tree draws text: it cannot be -o json")}
	}
	names := f.types
	for _, a := range args {
		if _, ok := inventory.ParseType(a); ok {
			names = append(names, a)
			continue
		}
		ino, err := filter.ParseNamespaces([]string{a})
		if err != nil {
			return nil, usageError{fmt.Errorf("ls %q: want a namespace inode (4026531840, net:[4026531840]) or a type (%s)", a, lsTypeNames())}
		}
		q.inodes[ino[0]] = true
	}
	for _, name := range names {
		t, ok := inventory.ParseType(name)
		if !ok {
			return nil, usageError{fmt.Errorf("unknown namespace type %q (want one of %s)", name, lsTypeNames())}
		}
		q.types[t] = true
	}
	return q, nil
}

func runLs(w io.Writer, f *lsFlags, args []string) error {
	q, err := f.query(args)
	if err != nil {
		return err
	}
	if f.pid != 0 {
		if q.task, err = pidNamespaces("/proc", f.pid); err != nil {
			return err
		}
	}
	runtimes, err := f.rt.config()
	if err != nil {
		return err
	}
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		return err
	}
	warnUnreadable(os.Stderr, inv)
	labelLs(runtimes, inv)
	if f.tree != "" {
		return writeLsTable(w, treeRows(inv.Namespaces, q.want, f.tree), "/proc")
	}
	var ns []inventory.Namespace
	for i := range inv.Namespaces {
		if q.want(&inv.Namespaces[i]) {
			ns = append(ns, inv.Namespaces[i])
		}
	}
	if f.output == "json" {
		return render.WriteNamespaceJSON(w, ns)
	}
	rows := make([]lsRow, len(ns))
	for i := range ns {
		rows[i] = lsRow{ns: &ns[i]}
	}
	return writeLsTable(w, rows, "/proc")
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
