package detect

import (
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// labels knows one container's mount namespace, and counts the questions.
type labels struct {
	ctr            *event.Container
	inode          uint32
	lookups, finds int
}

func (l *labels) Lookup(t event.NsType, inode uint32) (inventory.Namespace, bool) {
	l.lookups++
	if t != event.Mnt || inode != l.inode {
		return inventory.Namespace{}, false
	}
	return inventory.Namespace{Type: t, Inode: inode, Container: l.ctr}, true
}

// finder is labels answering ContainerOf as well.
type finder struct{ *labels }

func (f finder) ContainerOf(t event.NsType, inode uint32) (*event.Container, bool) {
	f.finds++
	n, ok := f.Lookup(t, inode) // not counted as a lookup: undone below
	f.lookups--
	return n.Container, ok
}

// The container a task's namespace belongs to is asked of a
// ContainerFinder without a whole Lookup, and names the alert as Lookup
// did.
func TestContainerOfNamesLikeLookup(t *testing.T) {
	ctr := &event.Container{ID: "c0ffee", Runtime: "runc", Name: "web"}
	for _, withFinder := range []bool{false, true} {
		l := &labels{ctr: ctr, inode: 6100}
		var ns Namespaces = l
		if withFinder {
			ns = finder{l}
		}
		d := New(nil, WithInventory(hostInventory()), WithNamespaces(ns), WithoutFolding())
		var alerts []Alert
		for i, ev := range []*event.Event{
			setnsEv(20, 0, join(event.Mnt, hostMnt, 6100)),
			setnsEv(20, 1, join(event.Net, 6101, hostNet)),
		} {
			for _, a := range d.Check(ev) {
				if a.Rule == RuleHostNamespaceEntry {
					alerts = append(alerts, a)
				}
			}
			if i == 0 {
				l.lookups, l.finds = 0, 0 // what the join into the host's net asks
			}
		}
		if len(alerts) != 1 || !strings.Contains(alerts[0].Message, ctr.Label()) {
			t.Fatalf("finder %v: host entry alerts:\n%s\nwant one inside %s", withFinder, describe(alerts), ctr.Label())
		}
		wantLookups, wantFinds := 1, 0
		if withFinder {
			wantLookups, wantFinds = 0, 1
		}
		if l.lookups != wantLookups || l.finds != wantFinds {
			t.Errorf("finder %v: %d lookups and %d finds, want %d and %d", withFinder, l.lookups, l.finds, wantLookups, wantFinds)
		}
	}
}
