package runtime

import (
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// LabelInventory labels the containers of inv's namespaces as Enrich
// labels events, and a network namespace mounted as a pod's (cni-…) with
// the pod: a session file's inventory and `nstrace ls` then name pods and
// containers as the events do. It never waits for a runtime.
func (w *Watcher) LabelInventory(inv *inventory.Inventory) {
	e := w.Enricher()
	for i := range inv.Namespaces {
		n := &inv.Namespaces[i]
		n.Container = e.Container(n.Container)
		if n.Container != nil || n.Type != event.Net {
			continue
		}
		for _, name := range n.Names {
			if strings.HasPrefix(name, "cni-") {
				if c := e.podNetNS(name); c != nil {
					n.Container = c
					break
				}
			}
		}
	}
}
