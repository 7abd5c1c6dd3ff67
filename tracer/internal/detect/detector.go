package detect

import (
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// Namespaces answers what the event stream did not say about a namespace:
// whether it is the host's, which container it belongs to. A
// *resolve.Resolver is one.
type Namespaces interface {
	Lookup(t event.NsType, inode uint32) (inventory.Namespace, bool)
}

// ContainerFinder is Namespaces that can tell a namespace's container
// alone, without copying the rest of what it knows (a *resolve.Resolver
// can): the detector asks for every event of a task in a namespace no
// container owns.
type ContainerFinder interface {
	ContainerOf(t event.NsType, inode uint32) (*event.Container, bool)
}

// Option configures a Detector.
type Option func(*options)

type options struct {
	ns       Namespaces
	inv      *inventory.Inventory
	proc     string // "": never look at /proc
	maxTasks int
	repeat   time.Duration
	observer Observer
	budget   uint64
	// fold.go: events are live; every alert raised at once
	wallClock, noFold bool
}

// WithNamespaces makes the detector ask ns (the resolver) about namespaces
// it has no label for: the identity namespaces of a task it has not seen
// change, and which are the host's.
func WithNamespaces(ns Namespaces) Option { return func(o *options) { o.ns = ns } }

// WithInventory tells the detector the host's namespaces from an inventory
// (inventory.Scan, or a session's).
func WithInventory(inv *inventory.Inventory) Option { return func(o *options) { o.inv = inv } }

// WithProc lets the detector read /proc/TID/ns under root for a task whose
// namespaces no event described, when a rule needs them (live tracing only).
func WithProc(root string) Option { return func(o *options) { o.proc = root } }

// WithMaxTasks bounds the threads remembered (default 16384); past it, the
// one unseen for longest is forgotten.
func WithMaxTasks(n int) Option { return func(o *options) { o.maxTasks = n } }

// WithRepeatWindow sets how long one rule's alerts in one container are
// folded into one count (default 10s; a rule file's window: wins), and how
// long one source's flood records raise one alert (default 60s).
func WithRepeatWindow(d time.Duration) Option { return func(o *options) { o.repeat = d } }

// Detector raises alerts from resolved events. It keeps, per thread, the
// namespaces the events showed it in, so that a rule can tell where a
// process is when it joins a namespace. Check must be called with every
// event, in order, from one goroutine.
type Detector struct {
	rules *Rules
	o     options
	tasks *taskTable
	host  [event.NumNsTypes]uint32 // the host's namespace per base type, 0 when not known yet

	unpriv map[uint32]uint32 // user namespaces created by non-root: inode → uid
	floods map[floodSource]*floodSeen
	f      folds // fold.go
	// rules_shares.go: the containers judged, and the start-up alerts
	// that Due has yet to hand out
	judged  map[containerKey]bool // true: judged; false: waiting for a clone
	running []Alert

	act    activation
	alerts []Alert

	errs                        []uint64 // evaluation failures by rule: built-ins, then the file's
	spent                       uint64   // rule cost charged to the event being checked
	skippedEvents, skippedRules uint64
}

// Bounds on the side tables; past them, old entries are dropped.
const (
	maxUnpriv = 4096
)

// New returns a detector applying rules (nil: DefaultRules).
func New(rules *Rules, opts ...Option) *Detector {
	if rules == nil {
		rules = DefaultRules()
	}
	o := options{maxTasks: 16384, budget: DefaultRuleBudget}
	for _, opt := range opts {
		opt(&o)
	}
	d := &Detector{rules: rules, o: o, tasks: newTaskTable(max(o.maxTasks, 16)),
		unpriv: make(map[uint32]uint32),
		errs:   make([]uint64, numBuiltins+len(rules.custom))}
	if o.inv != nil {
		for _, n := range o.inv.Namespaces {
			if n.Host {
				d.host[n.Type] = n.Inode
			}
		}
		d.judgeRunning(o.inv)
	}
	return d
}

// Check applies the rules to ev, which must already be resolved, and
// returns the alerts it raises, in rule order. The slice is reused by the
// next call; each Alert's fields are its own. An event that raises nothing
// costs no allocation.
func (d *Detector) Check(ev *event.Event) []Alert {
	d.alerts = d.alerts[:0]
	if ev.Kind == event.Lost {
		return nil
	}
	if ev.Kind == event.Flood {
		d.checkFlood(ev) // folded per source already
		d.finishBuiltins(0)
		if !d.f.nextClose.IsZero() && !ev.Time.Before(d.f.nextClose) {
			d.alerts = d.closeInto(d.alerts, ev.Time, false)
		}
		return d.alerts
	}
	d.act.reset(ev)
	d.spent = 0
	for i := range ev.Changes {
		if c := &ev.Changes[i]; c.Host && c.To != 0 {
			d.host[inventory.BaseType(c.Type)] = c.To
		}
	}
	switch {
	case ev.Failed():
		d.checkDenied(ev)
	case ev.Kind == event.Destroy:
	default:
		t := d.before(ev)
		if ev.Kind == event.Setns {
			d.checkHostEntry(ev, t)
			d.checkCrossContainer(ev, t)
			d.checkHostProcessEntry(ev, t)
		}
		d.checkContainerCreates(ev, t)
		d.checkUserns(ev, t)
		d.apply(ev, t)
		d.checkSharesHost(ev, t)
	}
	d.finishBuiltins(0)
	d.checkCustom(ev)
	d.fold(ev.Time)
	return d.alerts
}

// Tasks is how many threads the detector remembers.
func (d *Detector) Tasks() int { return d.tasks.len() }

// before returns ev's task as it was before ev: for a new task, its
// parent's namespaces; what the event's changes say it came from fills in
// the rest, and a disagreement means what was remembered is stale (a reused
// thread id, lost events) and is dropped.
func (d *Detector) before(ev *event.Event) *task {
	t, fresh := d.tasks.touch(ev.Tid)
	if ev.Kind == event.Clone {
		if !fresh {
			t.reset()
		}
		if p := d.tasks.get(ev.Ppid); p != nil && p != t {
			t.inherit(p)
		}
	} else if fresh {
		// Not seen before: a thread of a known process, or a child forked
		// without a namespace change (which no event shows).
		for _, id := range [...]uint32{ev.Pid, ev.Ppid} {
			if p := d.tasks.get(id); p != nil && p != t && id != 0 {
				t.inherit(p)
				break
			}
		}
	}
	var changed uint16
	stale := false
	for i := range ev.Changes {
		c := &ev.Changes[i]
		changed |= 1 << c.Type
		stale = stale || c.From != 0 && t.has(c.Type) && t.ns[c.Type] != c.From
	}
	// Where the kernel says the task is, for a type the event did not
	// change, is also where it was before the event.
	for _, ty := range identityTypes {
		ino := ev.Where[ty]
		stale = stale || ino != 0 && changed&(1<<ty) == 0 && t.has(ty) && t.ns[ty] != ino
	}
	if stale {
		t.reset()
	}
	for i := range ev.Changes {
		if c := &ev.Changes[i]; c.From != 0 && !t.has(c.Type) {
			t.set(c.Type, c.From, nil)
		}
	}
	for _, ty := range identityTypes {
		if ino := ev.Where[ty]; ino != 0 && changed&(1<<ty) == 0 && !t.has(ty) {
			t.set(ty, ino, nil)
		}
	}
	return t
}

// apply moves t into the namespaces ev changed. What it left is recorded
// with its identity after the whole call: `unshare -n -u` leaves the host's
// net and takes a new uts at once, and is back home after a setns into the
// host's net.
func (d *Detector) apply(ev *event.Event, t *task) {
	var left uint16
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if c.Action != event.Create && c.Action != event.Join || c.To == 0 {
			continue
		}
		if c.From != 0 && c.From != c.To {
			t.left[c.Type] = c.From
			left |= 1 << c.Type
		}
		t.set(c.Type, c.To, c.Container)
		// A new task's pid and time namespaces are also those its own
		// children get.
		if ev.Kind == event.Clone {
			switch c.Type {
			case event.Pid:
				t.set(event.PidForChildren, c.To, c.Container)
			case event.Time:
				t.set(event.TimeForChildren, c.To, c.Container)
			}
		}
	}
	for ty := range event.NumNsTypes {
		if left&(1<<ty) != 0 {
			t.leftGen[ty] = t.gen
		}
	}
}

// identityTypes make up where a process is: a container or sandbox has its
// own of at least one. Network and user namespaces are what it reaches, not
// what it is (`ip netns exec` changes net; rootless tools, user).
var identityTypes = [...]event.NsType{event.Mnt, event.Pid, event.UTS, event.IPC}

func isIdentity(t event.NsType) bool {
	return t == event.Mnt || t == event.Pid || t == event.UTS || t == event.IPC
}

// identity says where t is: a bit per identity type whose namespace is not
// the host's, and the container the first of those belongs to (nil when
// none is labelled). Namespaces neither an event's changes nor its Where
// showed (events the kernel did not stamp) are read from /proc when
// allowed; still unknown ones count as the host's.
func (d *Detector) identity(ev *event.Event, t *task) (away uint16, ctr *event.Container) {
	for i, ty := range identityTypes {
		if !t.has(ty) {
			if d.o.proc == "" || ev.Tid == 0 {
				continue // not allowed to look, or no task to look at
			}
			ino := d.probeNs(ev, t, i)
			if ino == 0 {
				continue
			}
			t.set(ty, ino, nil)
		}
		ino := t.ns[ty]
		if d.isHost(ty, ino) != no {
			continue
		}
		away |= 1 << ty
		if t.ctr[ty] == nil && d.o.ns != nil {
			if c, ok := d.containerOf(ty, ino); ok {
				t.ctr[ty] = c
			}
		}
		if ctr == nil {
			ctr = t.ctr[ty]
		}
	}
	return away, ctr
}

// containerOf asks d.o.ns for a namespace's container.
func (d *Detector) containerOf(ty event.NsType, ino uint32) (*event.Container, bool) {
	if f, ok := d.o.ns.(ContainerFinder); ok {
		return f.ContainerOf(ty, ino)
	}
	n, ok := d.o.ns.Lookup(ty, ino)
	return n.Container, ok
}

type tristate uint8

const (
	unknown tristate = iota
	yes
	no
)

// isHost tells whether ino is the host's namespace of its type.
func (d *Detector) isHost(ty event.NsType, ino uint32) tristate {
	bt := inventory.BaseType(ty)
	if h := d.host[bt]; h != 0 {
		if h == ino {
			return yes
		}
		return no
	}
	if d.o.ns != nil {
		if n, ok := d.o.ns.Lookup(bt, ino); ok {
			if n.Host {
				d.host[bt] = ino
				return yes
			}
			return no
		}
	}
	return unknown
}
