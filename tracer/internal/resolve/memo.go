package resolve

import "github.com/nstrace/nstrace/tracer/internal/inventory"

// memo remembers what the resolver's maps answered last: under churn
// every event asks about the same namespace, cgroup and process as the one
// before, and comparing a key costs less than hashing it and reaching
// into a map the rest of the stream has pushed out of the cache. What it
// holds is trusted only while the maps have not replaced or forgotten any
// entry since (gen); the maps stay the truth.
type memo struct {
	gen uint64 // bumped whenever r.ns or r.cgroups replaces or forgets an entry

	// Two namespaces: the one an event's change names and the one the
	// detector asks about next.
	ns     [2]nsSlot
	nsNext int

	cgGen uint64
	cgID  uint64
	cg    *cgroupEntry

	// The process last read on a cgroup v1 host: r.procs[pid], which
	// only putProc writes.
	procPid uint32
	proc    procContainer
	hasProc bool
}

type nsSlot struct {
	gen uint64
	k   inventory.Key
	e   *entry
}

// forgot voids what the memo holds of r.ns and r.cgroups: one of them
// replaced or forgot an entry.
func (m *memo) forgot() { m.gen++ }

// findNs returns the namespace r.ns holds under k, or nil.
func (r *Resolver) findNs(k inventory.Key) *entry {
	m := &r.memo
	for i := range m.ns {
		if s := &m.ns[i]; s.e != nil && s.k == k && s.gen == m.gen {
			return s.e
		}
	}
	e := r.ns[k]
	if e != nil {
		m.ns[m.nsNext] = nsSlot{gen: m.gen, k: k, e: e}
		m.nsNext = (m.nsNext + 1) % len(m.ns)
	}
	return e
}

// findCgroup returns the cgroup r.cgroups holds under id, or nil.
func (r *Resolver) findCgroup(id uint64) *cgroupEntry {
	m := &r.memo
	if m.cg != nil && m.cgID == id && m.cgGen == m.gen {
		return m.cg
	}
	ce := r.cgroups[id]
	if ce != nil {
		m.cgGen, m.cgID, m.cg = m.gen, id, ce
	}
	return ce
}

// findProc returns r.procs[pid].
func (r *Resolver) findProc(pid uint32) (procContainer, bool) {
	if m := &r.memo; m.hasProc && m.procPid == pid {
		return m.proc, true
	}
	pc, ok := r.procs[pid]
	if ok {
		r.memo.procPid, r.memo.proc, r.memo.hasProc = pid, pc, true
	}
	return pc, ok
}

// putProc stores pc as r.procs[pid] and remembers it.
func (r *Resolver) putProc(pid uint32, pc procContainer) {
	r.procs[pid] = pc
	r.memo.procPid, r.memo.proc, r.memo.hasProc = pid, pc, true
}
