package detect

import (
	"strconv"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
	"github.com/nstrace/nstrace/tracer/internal/container"
)

// checkHostEntry: a task inside a container, or outside one in a private
// mount namespace (a sandbox), joins a host namespace. A round trip is not an escape: a task that itself
// left that very host namespace, outside any container and with its
// identity unchanged since (`ip netns add` in a sandboxed service: unshare
// net, then setns back), is returning home.
func (d *Detector) checkHostEntry(ev *event.Event, t *task) {
	if !d.rules.builtin[bHost].enabled {
		return
	}
	var joined uint16
	var away uint16
	var ctr *event.Container
	probed := false
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if c.Action != event.Join || c.From == c.To || d.isHost(c.Type, c.To) != yes {
			continue
		}
		if !probed {
			away, ctr = d.identity(ev, t)
			probed = true
		}
		// Outside any container, a task that shares the host's mount
		// namespace can reach the host already: joining a host namespace
		// from a private uts or ipc alone (churn, round trips) is no escape.
		if away == 0 || ctr == nil && away&(1<<event.Mnt) == 0 {
			return
		}
		if ctr == nil && t.left[c.Type] == c.To && t.leftGen[c.Type] == t.gen {
			continue
		}
		joined |= 1 << c.Type
	}
	if joined == 0 {
		return
	}
	b := make([]byte, 0, 160)
	b = appendWho(b, ev)
	b = append(b, ", inside "...)
	if ctr != nil {
		b = append(b, ctr.Label()...)
		b = append(b, "'s"...)
	} else {
		b = append(b, "non-host"...)
	}
	b = append(b, ' ')
	b = appendTypes(b, away, "+")
	b = append(b, " namespaces, joined the host's "...)
	b = appendTypes(b, joined, " and ")
	b = append(b, " namespace"...)
	if joined&(joined-1) != 0 {
		b = append(b, 's')
	}
	d.raise(bHost, ev, string(b), ctr, func(a *Alert) {})
}

// checkCrossContainer: a task inside one container's namespaces joins a
// namespace that belongs to another container. systemd units are not
// containers here, and a Kubernetes pod is compared only with a pod: a
// pod-level label cannot be told apart from its containers'.
func (d *Detector) checkCrossContainer(ev *event.Event, t *task) {
	if !d.rules.builtin[bCross].enabled {
		return
	}
	var joined *event.Container
	var from *event.Container
	var types uint16
	probed := false
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if c.Action != event.Join || !isContainer(c.Container) {
			continue
		}
		if !probed {
			if away, ctr := d.identity(ev, t); away != 0 {
				from = ctr
			}
			probed = true
		}
		if !isContainer(from) || sameContainer(from, c.Container) ||
			(from.Runtime == container.RuntimeKubernetes) != (c.Container.Runtime == container.RuntimeKubernetes) {
			continue
		}
		if joined == nil {
			joined = c.Container
		}
		if sameContainer(joined, c.Container) {
			types |= 1 << c.Type
		}
	}
	if joined == nil {
		return
	}
	b := make([]byte, 0, 160)
	b = appendWho(b, ev)
	b = append(b, ", inside "...)
	b = append(b, from.Label()...)
	b = append(b, "'s namespaces, joined "...)
	b = appendNamespacesOf(b, joined.Label(), types)
	d.raise(bCross, ev, string(b), from, func(a *Alert) { a.Joined = joined })
}

func isContainer(c *event.Container) bool {
	return c != nil && c.Runtime != container.RuntimeSystemd
}

func sameContainer(a, b *event.Container) bool {
	return a == b || a.ID == b.ID && a.Runtime == b.Runtime && a.Name == b.Name
}

// checkUserns: a non-root user creates a user namespace (and says what else
// the same call created in it); later, creations inside such a namespace
// are reported too, since that is the kernel surface it opens.
func (d *Detector) checkUserns(ev *event.Event, t *task) {
	if !d.rules.builtin[bUserns].enabled {
		return
	}
	var userns uint32
	var created uint16
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if c.Action != event.Create {
			continue
		}
		if c.Type == event.User {
			userns = c.To
		} else {
			created |= 1 << c.Type
		}
	}
	if userns != 0 && ev.UID != 0 {
		d.rememberUnpriv(userns, ev.UID)
		b := make([]byte, 0, 160)
		b = appendWho(b, ev)
		b = append(b, " created user namespace "...)
		b = strconv.AppendUint(b, uint64(userns), 10)
		b = append(b, " as uid "...)
		b = strconv.AppendUint(b, uint64(ev.UID), 10)
		if created != 0 {
			b = append(b, ", and in it "...)
			b = appendTypes(b, created, ", ")
		}
		d.raise(bUserns, ev, string(b), nil, func(a *Alert) {
			a.Userns = userns
			a.Created = typeList(created)
		})
		return
	}
	if created == 0 || userns != 0 || len(d.unpriv) == 0 {
		return
	}
	// Whose namespaces are these? The resolver's owner, else the user
	// namespace the task is known to be in.
	var owner uint32
	for i := range ev.Changes {
		if c := &ev.Changes[i]; c.Action == event.Create && c.Owner != 0 {
			owner = c.Owner
			break
		}
	}
	if owner == 0 && t.has(event.User) {
		owner = t.ns[event.User]
	}
	uid, ok := d.unpriv[owner]
	if !ok {
		return
	}
	b := make([]byte, 0, 160)
	b = appendWho(b, ev)
	b = append(b, " created "...)
	b = appendTypes(b, created, ", ")
	b = append(b, " inside user namespace "...)
	b = strconv.AppendUint(b, uint64(owner), 10)
	b = append(b, ", which uid "...)
	b = strconv.AppendUint(b, uint64(uid), 10)
	b = append(b, " created"...)
	d.raise(bUserns, ev, string(b), nil, func(a *Alert) {
		a.Userns = owner
		a.Created = typeList(created)
	})
}

func (d *Detector) rememberUnpriv(userns, uid uint32) {
	if len(d.unpriv) >= maxUnpriv {
		for k := range d.unpriv { // drop an arbitrary tenth
			delete(d.unpriv, k)
			if len(d.unpriv) < maxUnpriv*9/10 {
				break
			}
		}
	}
	d.unpriv[userns] = uid
}

// checkDenied: a namespace-changing call refused with EPERM.
func (d *Detector) checkDenied(ev *event.Event) {
	if !d.rules.builtin[bDenied].enabled || ev.Errno != syscall.EPERM {
		return
	}
	switch ev.Kind {
	case event.Unshare, event.Setns, event.Clone:
	default:
		return
	}
	b := make([]byte, 0, 160)
	b = appendWho(b, ev)
	b = append(b, " as uid "...)
	b = strconv.AppendUint(b, uint64(ev.UID), 10)
	b = append(b, " was denied "...)
	b = append(b, ev.Kind.String()...)
	first := true
	cloneflags.Each(ev.Flags&cloneflags.Namespaces, func(name string) {
		if first {
			b = append(b, ' ')
		} else {
			b = append(b, '|')
		}
		first = false
		b = append(b, name...)
	})
	if ev.Target != nil {
		b = append(b, " into "...)
		b = append(b, ev.Target.Type.String()...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(ev.Target.Inode), 10)
	}
	b = append(b, ": "...)
	b = append(b, event.ErrnoName(ev.Errno)...)
	d.raise(bDenied, ev, string(b), nil, func(*Alert) {})
}

func (d *Detector) window(def time.Duration) time.Duration {
	if d.o.repeat > 0 {
		return d.o.repeat
	}
	return def
}

// raise appends an alert of built-in rule i, unless its exception matches.
func (d *Detector) raise(i int, ev *event.Event, msg string, ctr *event.Container, fill func(*Alert)) {
	r := &d.rules.builtin[i]
	if r.unless != nil && d.holds(i, r.unless) {
		return
	}
	a := d.newAlert(ev, Builtins[i].Name, r.severity, msg, ctr)
	fill(a)
}

func (d *Detector) newAlert(ev *event.Event, rule string, sev Severity, msg string, ctr *event.Container) *Alert {
	if ev.Container != nil {
		ctr = ev.Container
	}
	d.alerts = append(d.alerts, Alert{Time: ev.Time, Rule: rule, Severity: sev, Message: msg,
		Pid: ev.Pid, Tid: ev.Tid, Comm: ev.Comm, Container: ctr, Trigger: ev.Clone()})
	return &d.alerts[len(d.alerts)-1]
}

// appendWho appends `"comm" (pid N)` (and the thread when it differs).
func appendWho(b []byte, ev *event.Event) []byte {
	b = append(b, '"')
	b = append(b, ev.Comm...)
	b = append(b, `" (pid `...)
	b = strconv.AppendUint(b, uint64(ev.Pid), 10)
	if ev.Tid != ev.Pid {
		b = append(b, " tid "...)
		b = strconv.AppendUint(b, uint64(ev.Tid), 10)
	}
	b = appendProcess(b, ev)
	return append(b, ')')
}

// appendNamespacesOf appends "LABEL's net and uts namespaces": the types
// in mask, of the container or pod that label names.
func appendNamespacesOf(b []byte, label string, mask uint16) []byte {
	b = append(b, label...)
	b = append(b, "'s "...)
	b = appendTypes(b, mask, " and ")
	b = append(b, " namespace"...)
	if mask&(mask-1) != 0 {
		b = append(b, 's')
	}
	return b
}

// appendTypes appends the names of the types in mask, joined by sep.
func appendTypes(b []byte, mask uint16, sep string) []byte {
	first := true
	for ty := range event.NumNsTypes {
		if mask&(1<<ty) == 0 {
			continue
		}
		if !first {
			b = append(b, sep...)
		}
		first = false
		b = append(b, event.NsType(ty).String()...)
	}
	return b
}

func typeList(mask uint16) []event.NsType {
	var ts []event.NsType
	for ty := range event.NumNsTypes {
		if mask&(1<<ty) != 0 {
			ts = append(ts, event.NsType(ty))
		}
	}
	return ts
}
