package resolve

import (
	"errors"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// ErrNotLive is returned by Refresh on a resolver without live lookups.
var ErrNotLive = errors.New("resolver has no live lookups")

// Refresh scans the host again: members, names and containers are brought
// up to date, namespaces no longer found are marked gone, and those gone
// for longer than the grace period are forgotten. A live tracer calls it
// every so often (about once per grace period) to keep memory bounded under
// churn; the event stream alone cannot tell that a namespace died.
func (r *Resolver) Refresh() error {
	if !r.o.live {
		return ErrNotLive
	}
	inv, err := inventory.Scan(inventory.ScanOptions{Root: r.o.root, Probe: r.o.probe})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.merge(inv, true)
	r.sweep(inv.Time)
	return nil
}

// merge takes in a scan. Creators and containers learnt from events stay
// unless the scan knows better. With markGone, known namespaces the scan
// did not find, and not seen since it began, are marked gone.
func (r *Resolver) merge(inv *inventory.Inventory, markGone bool) {
	if inv.Time.After(r.last) {
		r.last = inv.Time
	}
	r.unread = inv.Unreadable
	found := make(map[inventory.Key]bool, len(inv.Namespaces))
	for _, n := range inv.Namespaces {
		n = n.Clone()
		k := inventory.KeyOf(n.Type, n.Inode)
		found[k] = true
		e := r.ns[k]
		if e == nil || e.ns.NsID != 0 && n.NsID != 0 && e.ns.NsID != n.NsID {
			e = &entry{}
			r.ns[k] = e
			r.memo.forgot()
		}
		if n.Creator == nil {
			n.Creator = e.ns.Creator
		}
		if n.Container == nil && !n.Host {
			n.Container = e.ns.Container
		}
		e.ns = n
		e.name = n.Name()
		e.lastSeen, e.goneSince = inv.Time, time.Time{}
	}
	if markGone {
		for k, e := range r.ns {
			if !found[k] && e.goneSince.IsZero() && e.lastSeen.Before(inv.Time) {
				e.goneSince = inv.Time
			}
		}
	}
	for _, c := range inv.Cgroups {
		r.cgroups[c.ID] = &cgroupEntry{Cgroup: c, lastUsed: inv.Time}
		r.memo.forgot()
	}
}

// sweep forgets namespaces gone for longer than the grace period, cgroup
// ids unused for as long (live only: a replay keeps what its session
// carried), and, past the cap, the namespaces seen longest ago.
func (r *Resolver) sweep(now time.Time) {
	r.swept = now
	for k, e := range r.ns {
		if !e.goneSince.IsZero() && now.Sub(e.goneSince) > r.o.grace && now.Sub(e.lastSeen) > r.o.grace {
			delete(r.ns, k)
			r.memo.forgot()
		}
	}
	if r.o.live {
		for _, m := range [...]map[uint64]*cgroupEntry{r.cgroups, r.memory} {
			for id, c := range m {
				if now.Sub(c.lastUsed) > r.o.grace {
					delete(m, id)
					r.memo.forgot()
				}
			}
		}
	}
	r.trim()
}

// trim forgets, past the cap, the namespaces seen longest ago, gone ones
// first, down to half the cap at once: under churn the selection is paid
// once per max/2 new namespaces.
func (r *Resolver) trim() {
	if len(r.ns) <= r.o.max {
		return
	}
	old := make([]ranked, 0, len(r.ns))
	for k, e := range r.ns {
		if !e.ns.Host {
			old = append(old, ranked{e.evictionRank(), k})
		}
	}
	n := min(len(old), len(r.ns)-r.o.max/2)
	selectLowest(old, n)
	for _, o := range old[:n] {
		delete(r.ns, o.k)
	}
	r.memo.forgot()
}

// ranked is a namespace by its evictionRank.
type ranked struct {
	rank uint64
	k    inventory.Key
}

// selectLowest reorders a so that a[:n] hold n of its lowest ranks, in
// linear time on average (quickselect, three-way so that equal ranks, as
// one scan gives, cost nothing).
func selectLowest(a []ranked, n int) {
	lo, hi := 0, len(a)
	for hi-lo > 1 {
		x, y, z := a[lo].rank, a[lo+(hi-lo)/2].rank, a[hi-1].rank
		p := max(min(x, y), min(max(x, y), z)) // the median of three
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch r := a[i].rank; {
			case r < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case r > p:
				gt--
				a[i], a[gt] = a[gt], a[i]
			default:
				i++
			}
		}
		// a[lo:lt] < p, a[lt:gt] == p, a[gt:hi] > p
		switch {
		case n < lt:
			hi = lt
		case n > gt:
			lo = gt
		default:
			return
		}
	}
}

// evictionRank orders namespaces for forgetting: gone ones first, then
// by last sight.
func (e *entry) evictionRank() uint64 {
	var ns uint64
	if !e.lastSeen.IsZero() && e.lastSeen.UnixNano() > 0 {
		ns = uint64(e.lastSeen.UnixNano())
	}
	if e.goneSince.IsZero() {
		ns |= 1 << 63
	}
	return ns
}

// Lookup returns what is known of a namespace; t may be pid_for_children
// or time_for_children.
func (r *Resolver) Lookup(t event.NsType, inode uint32) (inventory.Namespace, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.ns[inventory.KeyOf(t, inode)]
	if !ok {
		return inventory.Namespace{}, false
	}
	return e.ns.Clone(), true
}

// ContainerOf is what Lookup says of the namespace's container, without
// copying the rest: the detector asks it for every event of a task in a
// namespace no container owns.
func (r *Resolver) ContainerOf(t event.NsType, inode uint32) (*event.Container, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.findNs(inventory.KeyOf(t, inode))
	if e == nil {
		return nil, false
	}
	return e.ns.Container, true
}

// Inventory is a snapshot of everything the resolver knows, for `ls` and
// session files (a rotation's new part starts with it), including
// namespaces created while tracing and names mounted since the last event.
func (r *Resolver) Inventory() *inventory.Inventory {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.syncMounts()
	inv := &inventory.Inventory{Time: r.last, Unreadable: r.unread,
		Namespaces: make([]inventory.Namespace, 0, len(r.ns)), Cgroups: make([]container.Cgroup, 0, len(r.cgroups))}
	for _, e := range r.ns {
		inv.Namespaces = append(inv.Namespaces, e.ns.Clone())
	}
	inventory.SortNamespaces(inv.Namespaces)
	for _, c := range r.cgroups {
		if c.Path != "" {
			inv.Cgroups = append(inv.Cgroups, c.Cgroup)
		}
	}
	inventory.SortCgroups(inv.Cgroups)
	return inv
}
