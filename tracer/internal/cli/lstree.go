package cli

import (
	"slices"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// treeRows orders ns as lsns -T does: under each user namespace, the
// namespaces it owns (by=owner), or under each pid and user namespace its
// children (by=parent), inode order at each level. Namespaces outside
// want are drawn only as the ancestors of those in it.
func treeRows(all []inventory.Namespace, want func(*inventory.Namespace) bool, by string) []lsRow {
	t := nsTree{
		up:       treeParent(all, by),
		children: map[*inventory.Namespace][]*inventory.Namespace{},
		shown:    map[*inventory.Namespace]bool{},
	}
	for i := range all {
		n := &all[i]
		if by == "parent" && !nested(n.Type) || !want(n) {
			continue
		}
		t.add(n)
	}
	return t.rows()
}

// nested tells whether the kernel nests namespaces of type t under a
// parent: it does for pid and user namespaces alone.
func nested(t event.NsType) bool {
	return t == event.Pid || t == event.User
}

// treeParent finds the namespace a tree draws n under: its parent
// (by=parent) or its owning user namespace (by=owner); nil when that is
// not among all.
func treeParent(all []inventory.Namespace, by string) func(n *inventory.Namespace) *inventory.Namespace {
	byKey := map[inventory.Key]*inventory.Namespace{}
	for i := range all {
		byKey[inventory.KeyOf(all[i].Type, all[i].Inode)] = &all[i]
	}
	return func(n *inventory.Namespace) *inventory.Namespace {
		if by == "parent" {
			if n.Parent == 0 || !nested(n.Type) {
				return nil
			}
			return byKey[inventory.KeyOf(n.Type, n.Parent)]
		}
		if n.Owner == 0 {
			return nil
		}
		return byKey[inventory.KeyOf(event.User, n.Owner)]
	}
}

// nsTree is the namespaces a tree shows, each under the one up names.
type nsTree struct {
	up       func(*inventory.Namespace) *inventory.Namespace
	children map[*inventory.Namespace][]*inventory.Namespace
	shown    map[*inventory.Namespace]bool
	roots    []*inventory.Namespace // shown with nothing above them
}

// add shows n and every ancestor of it not shown yet, so a namespace is
// never drawn without the path from its root.
func (t *nsTree) add(n *inventory.Namespace) {
	for c := n; c != nil && !t.shown[c]; c = t.up(c) {
		t.shown[c] = true
		if p := t.up(c); p != nil && p != c {
			t.children[p] = append(t.children[p], c)
		} else {
			t.roots = append(t.roots, c)
		}
	}
}

// rows draws the tree depth first, each level in inode order.
func (t *nsTree) rows() []lsRow {
	var rows []lsRow
	sortByInode(t.roots)
	for _, r := range t.roots {
		rows = t.appendRows(rows, r, "", "")
	}
	return rows
}

// appendRows appends n's row, drawn with branch after indent, then its
// subtree's.
func (t *nsTree) appendRows(rows []lsRow, n *inventory.Namespace, indent, branch string) []lsRow {
	rows = append(rows, lsRow{ns: n, branch: indent + branch})
	kids := t.children[n]
	sortByInode(kids)
	next := indent + continuation(branch)
	for i, k := range kids {
		b := "├─"
		if i == len(kids)-1 {
			b = "└─"
		}
		rows = t.appendRows(rows, k, next, b)
	}
	return rows
}

// continuation is what a row's branch leaves in the indent of the rows
// below it: the line down past a middle child, blank past the last.
func continuation(branch string) string {
	switch branch {
	case "├─":
		return "│ "
	case "└─":
		return "  "
	}
	return ""
}

// sortByInode orders namespaces by inode, then type.
func sortByInode(s []*inventory.Namespace) {
	slices.SortFunc(s, func(a, b *inventory.Namespace) int {
		if a.Inode != b.Inode {
			return int(a.Inode) - int(b.Inode)
		}
		return int(a.Type) - int(b.Type)
	})
}
