package detect

import (
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/encode"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// RuleContainerSharesHostNamespace names the rule on containers that run in
// one of the host's namespaces (`docker run --network host`, a pod with
// hostNetwork or hostPID).
const RuleContainerSharesHostNamespace = "container-shares-host-namespace"

// sharedTypes are the namespaces a container is expected to have of its
// own; sharing one of the host's hands the container the host's network
// stack, processes, System V IPC or host name.
var sharedTypes = [...]event.NsType{event.Net, event.Pid, event.IPC, event.UTS}

// maxJudged bounds the containers remembered as judged; past it the memory
// starts over, and a container judged before may be judged again, once, on
// its next mount namespace.
const maxJudged = 4096

// containerKey names a container in the judged set, without building a
// string: a container's processes may create mount namespaces often.
type containerKey struct{ runtime, id string }

func keyOf(c *event.Container) containerKey { return containerKey{c.Runtime, c.ID} }

// judge marks a container as judged, telling whether it was already.
func (d *Detector) judge(c *event.Container) bool {
	k := keyOf(c)
	if d.judged[k] {
		return true
	}
	d.remember(k, true)
	return false
}

// remember notes a container as judged (true) or waiting for its next
// clone to be (false).
func (d *Detector) remember(k containerKey, judged bool) {
	if _, ok := d.judged[k]; !ok && (d.judged == nil || len(d.judged) >= maxJudged) {
		d.judged = make(map[containerKey]bool)
	}
	d.judged[k] = judged
}

// checkSharesHost: a container starts, which shows as its runtime giving
// its first process a mount namespace of its own (runc and crun always
// do, after joining what the container shares with others), and that
// process is left in a host namespace of sharedTypes. t is the task after
// the event. Each container is judged once. When the namespaces of that
// process cannot be told (runc's intermediate process is gone by the
// time its event is read), the judgement waits for the container's next
// clone: the process that becomes its init.
func (d *Detector) checkSharesHost(ev *event.Event, t *task) {
	if !d.rules.builtin[bShares].enabled || ev.Kind != event.Unshare && ev.Kind != event.Clone {
		return
	}
	var mnt *event.Change
	for i := range ev.Changes {
		if c := &ev.Changes[i]; c.Type == event.Mnt && c.Action == event.Create {
			mnt = c
		}
	}
	ctr := ev.Container
	if !isContainer(ctr) && mnt != nil {
		ctr = mnt.Container
	}
	if !isContainer(ctr) {
		return
	}
	judged, seen := d.judged[keyOf(ctr)]
	if judged || mnt == nil && (!seen || ev.Kind != event.Clone) {
		return // judged, or not a start, nor the clone a start waits for
	}
	var shared, unknown uint16
	for _, ty := range sharedTypes {
		switch ino := d.nsOf(ev, t, ty); {
		case ino == 0:
			unknown |= 1 << ty
		case d.isHost(ty, ino) == yes:
			shared |= 1 << ty
		}
	}
	if unknown != 0 && !seen {
		d.remember(keyOf(ctr), false)
		return
	}
	d.remember(keyOf(ctr), true)
	if shared == 0 {
		return
	}
	b := make([]byte, 0, 200)
	b = append(b, ctr.Label()...)
	b = append(b, " started in the host's "...)
	b = appendSharedTypes(b, shared)
	b = append(b, "; set up by "...)
	b = appendWho(b, ev)
	d.raise(bShares, ev, string(b), ctr, func(a *Alert) { a.Shared = typeList(shared) })
}

// nsOf is the namespace of type ty that t's processes live in after the
// event (for pid, the one its children get): what the event moved it to;
// else, live, what /proc says now, as the task table may hold a stale
// entry for a reused pid in a type no event changed; else the task table.
// 0 when unknown.
func (d *Detector) nsOf(ev *event.Event, t *task, ty event.NsType) uint32 {
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if (c.Type == ty || ty == event.Pid && c.Type == event.PidForChildren) && c.To != 0 &&
			(c.Action == event.Create || c.Action == event.Join) {
			return c.To
		}
	}
	lt := ty
	if ty == event.Pid {
		lt = event.PidForChildren
	}
	if d.o.proc != "" && ev.Tid != 0 {
		if ino := procfs.NsInode(d.o.proc, ev.Tid, lt); ino != 0 {
			return ino
		}
	}
	if t.has(lt) {
		return t.ns[lt]
	}
	return 0
}

// judgeRunning raises, at start-up, the alerts for the containers already
// running in a host namespace: for each container the inventory labels a
// namespace with, its lowest process (its init, as the scan counts) is
// looked up in /proc. They are kept for Due: no event carries them.
func (d *Detector) judgeRunning(inv *inventory.Inventory) {
	if !d.rules.builtin[bShares].enabled || d.o.proc == "" {
		return
	}
	type running struct {
		ctr  *event.Container
		pid  uint32
		comm string
	}
	var order []containerKey
	byKey := make(map[containerKey]*running)
	for i := range inv.Namespaces {
		n := &inv.Namespaces[i]
		ctr := n.Container
		if d.o.ns != nil {
			if l, ok := d.o.ns.Lookup(n.Type, n.Inode); ok && l.Container != nil {
				ctr = l.Container // named by the runtimes, where they answer
			}
		}
		if n.Host || n.PID == 0 || !isContainer(ctr) {
			continue
		}
		k := keyOf(ctr)
		r := byKey[k]
		if r == nil {
			r = &running{ctr: ctr, pid: n.PID, comm: n.Comm}
			byKey[k] = r
			order = append(order, k)
		} else if n.PID < r.pid {
			r.pid, r.comm = n.PID, n.Comm
		}
	}
	for _, k := range order {
		r := byKey[k]
		d.judge(r.ctr)
		var shared uint16
		for _, ty := range sharedTypes {
			if ino := procfs.NsInode(d.o.proc, r.pid, ty); ino != 0 && d.isHost(ty, ino) == yes {
				shared |= 1 << ty
			}
		}
		if shared == 0 {
			continue
		}
		d.raiseRunning(inv, r.ctr, r.pid, r.comm, shared)
	}
}

// raiseRunning queues the start-up alert of a running container, unless
// the rule's exception holds for its first process.
func (d *Detector) raiseRunning(inv *inventory.Inventory, ctr *event.Container, pid uint32, comm string, shared uint16) {
	ev := event.Event{Time: inv.Time, Pid: pid, Tid: pid, Comm: comm, Container: ctr}
	r := &d.rules.builtin[bShares]
	d.act.reset(&ev)
	if r.unless != nil && d.holds(bShares, r.unless) {
		return
	}
	b := make([]byte, 0, 200)
	b = append(b, ctr.Label()...)
	b = append(b, ", running when tracing started, is in the host's "...)
	b = appendSharedTypes(b, shared)
	b = append(b, "; its first process is "...)
	b = appendWho(b, &ev)
	a := Alert{Time: ev.Time, Rule: RuleContainerSharesHostNamespace, Severity: r.severity, Message: string(b),
		Pid: pid, Tid: pid, Comm: comm, Container: ctr, Shared: typeList(shared),
		Mitre: RuleInfo[RuleContainerSharesHostNamespace].Mitre}
	if !d.foldOne(&a) {
		d.running = append(d.running, a)
	}
}

// appendSharedTypes appends "net namespace" or "net and uts namespaces".
func appendSharedTypes(b []byte, shared uint16) []byte {
	b = appendTypes(b, shared, " and ")
	b = append(b, " namespace"...)
	if shared&(shared-1) != 0 {
		b = append(b, 's')
	}
	return b
}

// appendShared appends an alert's "host_namespaces" field.
func (a *Alert) appendShared(b []byte) []byte {
	if len(a.Shared) == 0 {
		return b
	}
	b = append(b, `,"host_namespaces":[`...)
	for i, t := range a.Shared {
		if i > 0 {
			b = append(b, ',')
		}
		b = encode.AppendJSONString(b, t.String())
	}
	return append(b, ']')
}
