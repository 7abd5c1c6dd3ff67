package cli

import (
	"fmt"
	"io"

	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// warnUnreadable prints one line when the inventory could not read some
// processes' namespaces for lack of a capability naming needs: those
// namespaces stay unnamed (no owner, container or creator), which the
// output alone would not explain.
func warnUnreadable(w io.Writer, inv *inventory.Inventory) {
	if inv.Unreadable == 0 || len(caps.Missing(caps.Names)) == 0 {
		return
	}
	fmt.Fprintf(w, "nstrace: the namespaces of %d processes are unreadable and stay unnamed: %s\n",
		inv.Unreadable, caps.Advice([]caps.Cap{caps.SysPtrace}, "naming", caps.Names))
}
