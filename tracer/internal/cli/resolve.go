package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
)

// refreshEvery is how often a live resolver rescans /proc, so that
// namespaces that died are forgotten and memory stays bounded.
const refreshEvery = time.Minute

// liveResolver takes the inventory of the host's namespaces and returns a
// resolver that keeps it current until ctx ends.
func liveResolver(ctx context.Context) (*resolve.Resolver, *inventory.Inventory, error) {
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("namespace inventory: %w", err)
	}
	r := resolve.New(inv)
	// Without the watch, names come as events need them (Resolve checks the
	// mount table itself), so its error changes nothing here.
	go func() { _ = r.WatchMounts(ctx) }()
	go func() {
		tick := time.NewTicker(refreshEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = r.Refresh() // a failed rescan keeps what is known
			}
		}
	}()
	return r, inv, nil
}
