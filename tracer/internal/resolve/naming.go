package resolve

import (
	"path/filepath"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// mountedNames names e from the nsfs mounts of our mount namespace that
// hold it, as last read: a map lookup, no system call.
func (r *Resolver) mountedNames(e *entry) {
	if r.self == nil {
		return
	}
	r.self.Lookup(inventory.KeyOf(e.ns.Type, e.ns.Inode), e.ns.NsID, e.ns.AddMount)
	e.name = e.ns.Name()
}

// takeMounts names the known namespaces that mounts made since the last
// call hold.
func (r *Resolver) takeMounts() {
	r.mountSeen = r.self.Changes()
	r.self.TakeFresh(func(m *inventory.MountRec) {
		if e := r.ns[m.Key]; e != nil && m.Holds(e.ns.NsID) {
			e.ns.AddMount(m.Point)
			e.name = e.ns.Name()
		}
	})
}

// syncMounts brings our mount table up to date (one poll(2) when it did
// not change) and names what new mounts hold: a name is given the same
// way however late an event is read, as long as its mount came first.
func (r *Resolver) syncMounts() {
	if r.self == nil {
		return
	}
	r.self.Sync()
	if r.self.Changes() != r.mountSeen {
		r.takeMounts()
	}
}

// lookForName looks for a name for e, which has none: in our mount table,
// then, backing off, in the task's if that is another mount namespace
// (`ip netns add` inside a container mounts the name there). The mount
// may come after the create event: `ip netns add` mounts the namespace
// just after creating it, `ip netns attach` any time later.
//
// For a net namespace, which `ip netns` names, our table is checked at
// once (one poll(2)), unless a join checked it less than syncEvery before:
// a join flood costs a poll per millisecond, not per join, and the mount
// watcher brings what was mounted in between. Other types take what the
// watcher learnt, at no cost per event.
func (r *Resolver) lookForName(e *entry, tid uint32, now time.Time) {
	if e.ns.Type == event.Net && (now.Sub(r.syncedAt) >= syncEvery || now.Before(r.syncedAt)) {
		r.syncMounts()
		r.syncedAt = now
	}
	if e.name != "" || e.probes >= 2 && now.Before(e.nextProbe) {
		return
	}
	e.probes++
	e.nextProbe = now.Add(min(time.Second<<min(max(e.probes-2, 0), 9), 5*time.Minute))
	if tid == 0 {
		return
	}
	if mnt := r.mntOf(tid); mnt == 0 || mnt == r.selfMnt {
		return
	}
	root := r.procPath(tid, "root")
	mounts, _ := procfs.ReadMountinfo(r.procPath(tid, "mountinfo"))
	for _, m := range procfs.NsfsMounts(mounts) {
		k := inventory.KeyOf(m.Type, m.Inode)
		n := r.ns[k]
		if k == inventory.KeyOf(e.ns.Type, e.ns.Inode) {
			n = e
		}
		if n != nil && r.mountHolds(filepath.Join(root, m.Point), n) {
			n.ns.AddMount(m.Point)
			n.name = n.ns.Name()
		}
	}
}

// syncEvery is how often joins check our mount table at most, in event
// time.
const syncEvery = time.Millisecond

// mntOf is the inode of the task's mount namespace (0: ours); 0 when it
// cannot be read.
func (r *Resolver) mntOf(tid uint32) uint32 { return procfs.NsInode(r.o.root, tid, event.Mnt) }

// mountHolds tells whether the nsfs mount at path holds n itself rather
// than a namespace that died and left n its inode: events come late, and
// `ip netns del X; ip netns add Y` may give Y the inode X had. Where n has a
// 64-bit id, the mount's must match; without one (before Linux 6.18) the
// inode is all there is to go by.
func (r *Resolver) mountHolds(path string, n *entry) bool {
	if n.ns.NsID == 0 {
		return true
	}
	fs := r.o.probe(path, n.ns.Type, n.ns.Inode, func(inventory.Key) bool { return true })
	return len(fs) > 0 && fs[0].NsID == n.ns.NsID
}

// AwaitsName reports whether ev created a namespace that has no name yet but
// may get one in a moment: `ip netns add` mounts the net namespace it made
// only after its unshare returns.
func (r *Resolver) AwaitsName(ev *event.Event) bool {
	if !r.o.live || ev.Kind == event.Lost {
		return false
	}
	for i := range ev.Changes {
		if c := &ev.Changes[i]; c.Type == event.Net && c.Action == event.Create && c.Name == "" {
			return true
		}
	}
	return false
}

// Rename looks again, now, for the names of ev's unnamed namespaces.
func (r *Resolver) Rename(ev *event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Whatever was mounted before the event that released ev counts:
	// released alike, named alike.
	r.syncMounts()
	r.syncedAt = ev.Time
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if c.Name != "" {
			continue
		}
		e := r.ns[inventory.KeyOf(c.Type, c.To)]
		if e == nil || e.ns.NsID != 0 && c.NsID != 0 && e.ns.NsID != c.NsID {
			continue
		}
		if e.name == "" {
			r.lookForName(e, ev.Tid, ev.Time)
		}
		c.Name = e.name
	}
}
