package resolve

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// Resolver labels the namespaces of events and keeps its inventory current
// from the event stream. Resolve runs on the hot path; inventory.Inventory, Lookup and
// Refresh may be called from other goroutines.
type Resolver struct {
	mu      sync.Mutex
	o       options
	ns      map[inventory.Key]*entry
	cgroups map[uint64]*cgroupEntry
	memory  map[uint64]*cgroupEntry  // cgroup v1 hosts: memory cgroups by id; live only
	procs   map[uint32]procContainer // cgroup v1 hosts: by pid, briefly
	cls     *container.Classifier    // live only
	tree    container.Tree           // live only
	last    time.Time                // the latest time seen: events, scans
	swept   time.Time
	unread  int

	cgroupBuf []byte // reused for reading /proc/TID/cgroup
	procOurs  bool   // our /proc shows event pids: procfs.TaskGone holds for it
	memo      memo   // memo.go

	self      *inventory.MountTable // our mount namespace's nsfs mounts; live only
	selfMnt   uint32                // its inode
	mountSeen uint64                // self.changes when its fresh mounts were last taken
	syncedAt  time.Time             // event time of the last check of self by a join
}

// entry is a namespace the resolver knows, with its upkeep state.
type entry struct {
	ns        inventory.Namespace
	name      string    // ns.Name(), kept for the hot path
	lastSeen  time.Time // last event or scan that showed it
	goneSince time.Time // zero while believed alive
	probes    int       // task mount table reads made for it while it had no name
	nextProbe time.Time
}

type cgroupEntry struct {
	container.Cgroup
	lastUsed time.Time
}

type options struct {
	root  string
	live  bool
	grace time.Duration
	max   int
	probe inventory.Prober
}

// Option configures a Resolver.
type Option func(*options)

// WithRoot sets the filesystem root holding proc/, run/ and the cgroup
// mounts, as ScanOptions.Root does.
func WithRoot(root string) Option { return func(o *options) { o.root = root } }

// WithoutLiveLookups makes the resolver use only its inventory and the
// events, never the running system: for replaying a session elsewhere.
func WithoutLiveLookups() Option { return func(o *options) { o.live = false } }

// WithGracePeriod sets how long a namespace that died (a destroy event, or
// no member, mount or open reference at the last Refresh) is remembered,
// so late events still resolve. Default one minute.
func WithGracePeriod(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithMaxNamespaces bounds the namespaces remembered; past it, those not
// seen for longest are forgotten, down to half of n. Default 65536.
func WithMaxNamespaces(n int) Option { return func(o *options) { o.max = n } }

// New returns a resolver that starts from inv (nil for none). By default it
// looks up what inv lacks on the running system.
func New(inv *inventory.Inventory, opts ...Option) *Resolver {
	o := options{root: "/", live: true, grace: time.Minute, max: 1 << 16, probe: inventory.ProbeNsfs}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Resolver{o: o, ns: make(map[inventory.Key]*entry), cgroups: make(map[uint64]*cgroupEntry),
		memory: make(map[uint64]*cgroupEntry),
		procs:  make(map[uint32]procContainer)}
	if o.live {
		r.cls, r.tree = container.NewClassifier(o.root), container.OwnTree(o.root)
		r.self = inventory.NewMountTable(r.procPath(0, "mountinfo"), o.root, o.probe, o.grace)
		r.self.Sync()
		r.selfMnt = r.mntOf(0)
		r.procOurs = procfs.ProcIsOurs(o.root)
	}
	if inv != nil {
		r.merge(inv, false)
	}
	return r
}

// Resolve fills in what is known about the namespaces ev changed (each
// change's Name, Host, Owner, Container, and NsID where the event lacks it)
// and ev.Container, the process's container; fields already set are kept.
// It also learns from ev: a create records its creator, a join into an
// unknown namespace looks it up. For namespaces already known it allocates
// nothing.
func (r *Resolver) Resolve(ev *event.Event) {
	if ev.Kind == event.Lost {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Kind == event.Destroy {
		r.typeDestroyed(ev)
	}
	now := ev.Time
	if now.After(r.last) {
		r.last = now
	}
	if r.self != nil && r.self.Changes() != r.mountSeen {
		r.takeMounts()
	}
	if ev.Container == nil {
		ev.Container = r.processContainer(ev, now)
	}
	// Namespaces created together with a user namespace belong to it.
	var newUser uint32
	for i := range ev.Changes {
		if c := &ev.Changes[i]; c.Type == event.User && c.Action == event.Create {
			newUser = c.To
		}
	}
	for i := range ev.Changes {
		c := &ev.Changes[i]
		e := r.learn(ev, c, newUser, now)
		if e == nil {
			c.Host = c.Host || inventory.IsInitial(c.Type, c.To)
			continue
		}
		if c.Name == "" {
			c.Name = e.name
		}
		c.Host = c.Host || e.ns.Host
		if c.Owner == 0 {
			c.Owner = e.ns.Owner
		}
		if c.Container == nil {
			c.Container = e.ns.Container
		}
		if c.NsID == 0 {
			c.NsID = e.ns.NsID
		}
	}
	if !now.IsZero() && now.Sub(r.swept) > r.o.grace {
		r.sweep(now)
	} else if len(r.ns) > r.o.max {
		r.trim()
	}
}

// typeDestroyed gives the changes of a destroy event, which the kernel
// reports by inode alone, the type of the namespace known by that inode.
// Inodes it does not know as namespaces are dropped from the event: the
// kernel frees other proc inodes through the same path.
func (r *Resolver) typeDestroyed(ev *event.Event) {
	kept := ev.Changes[:0]
	for _, c := range ev.Changes {
		if int(c.Type) >= event.NumNsTypes {
			c.Type = event.NsType(event.NumNsTypes)
			for _, t := range inventory.Types {
				if e := r.ns[inventory.KeyOf(t, c.To)]; e != nil {
					c.Type = t
					break
				}
			}
		}
		if int(c.Type) < event.NumNsTypes {
			kept = append(kept, c)
		}
	}
	ev.Changes = kept
}

// learn applies change c of ev to the inventory and returns its namespace,
// or nil when nothing is known of it.
func (r *Resolver) learn(ev *event.Event, c *event.Change, newUser uint32, now time.Time) *entry {
	k := inventory.KeyOf(c.Type, c.To)
	e := r.findNs(k)
	if e != nil && e.ns.NsID != 0 && c.NsID != 0 && e.ns.NsID != c.NsID {
		e = nil // a namespace that died and left c.To its inode
	}
	switch c.Action {
	case event.Create:
		if e == nil || !e.sameAs(c) {
			e = r.created(ev, c, newUser)
			r.ns[k] = e
			r.memo.forgot()
		} else if e.ns.Creator == nil {
			e.ns.Creator = creatorOf(ev)
			if e.ns.Container == nil && !e.ns.Host {
				e.ns.Container = ev.Container
			}
		}
	case event.Join:
		if e == nil {
			if e = r.lookup(ev, c); e == nil {
				return nil
			}
			r.ns[k] = e
			r.memo.forgot()
		} else if r.o.live && e.name == "" && !e.ns.Host {
			r.lookForName(e, ev.Tid, now)
		}
	case event.ActionDestroy:
		if e != nil && e.goneSince.IsZero() {
			e.goneSince = now
		}
		return e
	default:
		return e
	}
	e.lastSeen, e.goneSince = now, time.Time{}
	return e
}

// sameAs tells whether a create event for e's inode is e itself (seen by a
// scan racing the event) rather than a new namespace reusing a dead one's
// inode. With 64-bit ids on both sides they decided already; without, a
// namespace is created once: one with a creator is not it.
func (e *entry) sameAs(c *event.Change) bool {
	return e.ns.NsID != 0 && c.NsID != 0 || e.ns.Creator == nil && e.goneSince.IsZero()
}

// created makes the entry for a namespace that ev created. What the event
// implies comes first (so a replay, which cannot look, labels alike); a
// live lookup adds the rest.
func (r *Resolver) created(ev *event.Event, c *event.Change, newUser uint32) *entry {
	t := inventory.BaseType(c.Type)
	e := &entry{ns: inventory.Namespace{Type: t, Inode: c.To, NsID: c.NsID, Creator: creatorOf(ev),
		Container: ev.Container, Host: inventory.IsInitial(t, c.To)}}
	switch {
	case t == event.User:
		e.ns.Owner, e.ns.Parent = c.From, c.From
	case newUser != 0:
		e.ns.Owner = newUser
	default:
		e.ns.Owner = ev.UserNS // the creator's user namespace owns it
	}
	if t == event.Pid {
		e.ns.Parent = c.From
	}
	// The event says all nsfs would about a namespace but a user
	// namespace's owner uid, unless its owner is new to us.
	owner := r.ns[inventory.KeyOf(event.User, e.ns.Owner)]
	if owner != nil {
		owner.lastSeen = ev.Time // in use: not the first to forget
	}
	if t == event.User || owner == nil {
		r.probeFacts(e, ev, c.Type)
	}
	r.mountedNames(e)
	return e
}

// creatorOf is the process that made the call: for clone the parent, whose
// comm the child still shares.
func creatorOf(ev *event.Event) *inventory.Creator {
	pid := ev.Pid
	if ev.Kind == event.Clone && ev.Ppid != 0 {
		pid = ev.Ppid
	}
	return &inventory.Creator{Pid: pid, Comm: ev.Comm, UID: ev.UID, Syscall: ev.Kind.String(), Time: ev.Time}
}

// lookup makes the entry for a namespace first met in a join, from the
// joining task's namespace file and the mount tables. Live only.
func (r *Resolver) lookup(ev *event.Event, c *event.Change) *entry {
	if !r.o.live {
		return nil
	}
	t := inventory.BaseType(c.Type)
	e := &entry{ns: inventory.Namespace{Type: t, Inode: c.To, NsID: c.NsID, Host: inventory.IsInitial(t, c.To)}}
	r.probeFacts(e, ev, c.Type)
	r.mountedNames(e)
	if e.name == "" && !e.ns.Host {
		r.lookForName(e, ev.Tid, ev.Time)
	}
	return e
}

// probeFacts asks nsfs about e through the task's namespace file, which
// still holds e unless the task has moved on or gone. Facts about another
// namespace that has e's inode by now (its 64-bit id differs) are dropped.
func (r *Resolver) probeFacts(e *entry, ev *event.Event, t event.NsType) {
	if !r.o.live {
		return
	}
	known := func(k inventory.Key) bool { _, ok := r.ns[k]; return ok }
	for _, tid := range [...]uint32{ev.Tid, ev.Pid} {
		fs := r.o.probe(r.procPath(tid, "ns/"+t.String()), t, e.ns.Inode, known)
		if len(fs) > 0 && e.ns.NsID != 0 && fs[0].NsID != 0 && fs[0].NsID != e.ns.NsID {
			return
		}
		for _, f := range fs {
			if f.Type == e.ns.Type && f.Inode == e.ns.Inode {
				f.Apply(&e.ns)
			} else if _, ok := r.ns[inventory.KeyOf(f.Type, f.Inode)]; !ok {
				n := &entry{ns: inventory.Namespace{Type: f.Type, Inode: f.Inode, Host: inventory.IsInitial(f.Type, f.Inode)},
					lastSeen: ev.Time}
				f.Apply(&n.ns)
				r.ns[inventory.KeyOf(f.Type, f.Inode)] = n
			}
		}
		if len(fs) > 0 {
			return
		}
	}
}

// procPath is a file of /proc/TID under the root, or of /proc/self for 0.
func (r *Resolver) procPath(tid uint32, file string) string {
	dir := "self"
	if tid != 0 {
		dir = strconv.FormatUint(uint64(tid), 10)
	}
	return filepath.Join(r.o.root, "proc", dir, file)
}

// processContainer finds the container of ev's task from the cgroup id the
// kernel recorded, which outlives the task. Where that id says nothing (the
// v2 root on a cgroup v1 or hybrid host) a live resolver reads
// /proc/TID/cgroup instead: best effort, and not free.
func (r *Resolver) processContainer(ev *event.Event, now time.Time) *event.Container {
	if ev.CgroupID != 0 {
		ce := r.findCgroup(ev.CgroupID)
		if ce == nil && r.o.live {
			ce = r.newCgroupEntry(ev.CgroupID, r.tree.PathOf)
			r.cgroups[ev.CgroupID] = ce
		}
		if ce != nil {
			ce.lastUsed = now
			if ce.Container != nil || !r.tree.V1 {
				return ce.Container
			}
		}
	}
	if !r.o.live || !r.tree.V1 {
		return nil
	}
	if ce := r.memoryCgroup(ev.MemCgroupID, now); ce != nil && ce.Path != "" {
		return ce.Container
	}
	// On cgroup v1 the kernel's v2 id says nothing, and a memory cgroup
	// removed before its id was looked up has no path left: read /proc,
	// once per process per procTTL, not per event (a churning process
	// would otherwise cost an open and a read for every call it makes).
	if pc, ok := r.findProc(ev.Pid); ok && now.Sub(pc.at) < procTTL && !now.Before(pc.at) {
		return pc.ctr
	}
	var ctr *event.Container
	if !r.procOurs || ev.Pid == 0 || !procfs.TaskGone(ev.Pid, ev.Tid) {
		data, ok := appendTaskFile(r.cgroupBuf[:0], r.o.root, ev.Tid, "cgroup")
		r.cgroupBuf = data[:0]
		if ok {
			ctr = r.cls.ProcessFile(data).Container
		}
	}
	if len(r.procs) >= maxProcs {
		clear(r.procs)
	}
	r.putProc(ev.Pid, procContainer{ctr: ctr, at: now})
	return ctr
}

// memoryCgroup finds a cgroup v1 memory cgroup by the id the kernel
// recorded: looked up once (cgroup ids are not reused, so neither is an
// answer, found or not), nil for id 0.
func (r *Resolver) memoryCgroup(id uint64, now time.Time) *cgroupEntry {
	if id == 0 {
		return nil
	}
	ce := r.memory[id]
	if ce == nil {
		ce = r.newCgroupEntry(id, r.tree.MemoryPathOf)
		r.memory[id] = ce
	}
	ce.lastUsed = now
	return ce
}

// newCgroupEntry is cgroup id with its path, as pathOf finds it in its
// hierarchy, and that path's container; no path where none is found.
func (r *Resolver) newCgroupEntry(id uint64, pathOf func(uint64) (string, bool)) *cgroupEntry {
	ce := &cgroupEntry{Cgroup: container.Cgroup{ID: id}}
	if p, ok := pathOf(id); ok {
		ce.Path, ce.Container = p, r.cls.Path(p).Container
	}
	return ce
}

// appendTaskFile reads a file of /proc/TID; tests count the reads.
var appendTaskFile = procfs.AppendTaskFile

// procContainer is a process's container as /proc said at a moment.
type procContainer struct {
	ctr *event.Container
	at  time.Time
}

const (
	procTTL  = time.Second
	maxProcs = 4096
)

// WatchMounts learns the changes to our mount namespace as they happen,
// until ctx ends (see inventory.MountTable.Watch). Resolve does not need it
// to be right: where a name matters it checks the mount table itself.
func (r *Resolver) WatchMounts(ctx context.Context) error {
	if r.self == nil {
		return ErrNotLive
	}
	return r.self.Watch(ctx)
}
