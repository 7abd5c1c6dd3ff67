package report

import (
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/render"
	"github.com/nstrace/nstrace/tracer/resolve"
	"github.com/nstrace/nstrace/tracer/session"
)

// Builder makes a Report from a stream of resolved events. It is a sink of
// the replay pipeline and keeps nothing of an event past the call.
type Builder struct {
	opts Options
	r    Report

	byID    map[idKey]int32  // lanes by type and 64-bit id
	byInode map[inoKey]int32 // the latest lane of each type and inode
	lastIno map[uint32]int32 // the latest namespace created with each inode, of any type
	strIdx  map[string]int32
	ctrIdx  map[event.Container]int32
	special [4]int32 // lane of each special kind; -1 until needed
	laneCtr []int32  // each lane's container index, to spot a new label cheaply
	tally   tally
	pending []pendingAlert // alerts raised before their trigger was written

	sessions map[string]int // index into r.Sessions by recording id
	header   *session.Header

	// host knows nothing but the kernel's fixed inodes of the initial
	// namespaces: asked about a namespace a process left, it tells whether
	// that was the host's without touching the session's resolver.
	host   *resolve.Resolver
	hostEv event.Event
	flags  []byte
}

// Options configure a Builder.
type Options struct {
	// Lookup tells what the session's resolver knows of a namespace, for
	// lanes met only as where a process came from or a failed setns aimed.
	Lookup func(t event.NsType, inode uint32) (resolve.Namespace, bool)
}

type idKey struct {
	t  event.NsType
	id uint64
}

type inoKey struct {
	t   event.NsType
	ino uint32
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	b := &Builder{
		opts: opts, byID: make(map[idKey]int32), byInode: make(map[inoKey]int32), lastIno: make(map[uint32]int32),
		strIdx: map[string]int32{"": 0}, ctrIdx: make(map[event.Container]int32),
		special: [4]int32{-1, -1, -1, -1}, sessions: make(map[string]int),
		host: resolve.New(nil, resolve.WithoutLiveLookups()),
	}
	b.r.strs = []string{""}
	b.hostEv.Changes = make([]event.Change, 1)
	return b
}

// Session notes the header of the session whose events follow. The parts
// of one rotated recording count as one session.
func (b *Builder) Session(h *session.Header) {
	if h == nil || h == b.header {
		return
	}
	b.header = h
	if i, ok := b.sessions[h.Session]; ok && h.Session != "" {
		b.r.Sessions[i].Parts++
		return
	}
	s := Session{ID: render.Sanitize(h.Session), Host: render.Sanitize(h.Host), Kernel: render.Sanitize(h.Kernel),
		Version: render.Sanitize(h.Version), Started: h.Started, Filter: render.Sanitize(h.Filter), Parts: 1}
	for _, hk := range h.Hooks {
		s.Hooks = append(s.Hooks, session.Hook{Name: render.Sanitize(hk.Name), Via: render.Sanitize(hk.Via),
			Required: hk.Required, Attached: hk.Attached, Error: render.Sanitize(hk.Error)})
	}
	b.sessions[h.Session] = len(b.r.Sessions)
	b.r.Sessions = append(b.r.Sessions, s)
}

// WriteEvent adds ev to the report.
func (b *Builder) WriteEvent(ev *event.Event) error {
	if ev.Kind == event.Destroy && len(ev.Changes) == 0 {
		return nil // the resolver found no namespace in it: another proc inode freed
	}
	rec := eventRec{t: ev.Time.UnixNano(), kind: ev.Kind, errno: ev.Errno, pid: ev.Pid, tid: ev.Tid,
		ppid: ev.Ppid, uid: ev.UID, ctr: b.container(ev.Container), lane: -1, lost: ev.Lost}
	rec.comm = b.str(ev.Comm)
	if ev.Errno != 0 {
		rec.err = b.str(event.ErrnoName(ev.Errno))
		rec.flags = b.flagSet(ev.Flags & event.NamespaceFlags)
	} else {
		rec.flags = b.flagSet(ev.Flags)
	}
	if ev.Target != nil {
		rec.target, rec.hasTarget = *ev.Target, true
	}
	b.tally.add(ev)
	rec.ch0 = int32(len(b.r.changes))
	switch {
	case ev.Kind == event.Lost:
		rec.lane = b.specialLane(LostLane)
		b.r.Lanes[rec.lane].Marks.Lost++
	case ev.Failed():
		if ev.Target != nil && ev.Target.Inode != 0 {
			rec.lane = b.laneAt(resolve.BaseType(ev.Target.Type), ev.Target.Inode)
		} else {
			rec.lane = b.specialLane(FailedLane)
		}
		b.r.Lanes[rec.lane].Marks.Failed++
	default:
		for i := range ev.Changes {
			if int(ev.Changes[i].Type) < event.NumNsTypes {
				b.change(ev, &ev.Changes[i])
			}
		}
	}
	rec.ch1 = int32(len(b.r.changes))
	b.r.events = append(b.r.events, rec)
	if len(b.pending) > 0 {
		b.settle(ev)
	}
	return nil
}

// Flush does nothing: a report is written whole, at the end.
func (b *Builder) Flush() error { return nil }

// Alert adds an alert that a detection rule raised about trigger. The
// trigger may be an event written shortly before, or the next one to be
// written: a detector sees events before the filter and the Builder do.
// An alert whose trigger the filter drops is left out, so that a report
// focused on one container or one minute shows that container's or
// minute's alerts. Without a trigger, an alert is always kept.
func (b *Builder) Alert(rule, severity, message string, trigger *event.Event) {
	a := Alert{Rule: render.Sanitize(rule), Severity: render.Sanitize(severity),
		Message: render.Sanitize(message), Event: -1}
	if trigger == nil {
		b.addAlert(a)
		return
	}
	a.Time = trigger.Time
	k := keyOf(trigger)
	if a.Event = b.find(k); a.Event >= 0 {
		b.addAlert(a)
		return
	}
	b.pending = append(b.pending, pendingAlert{alert: a, trigger: k})
}

func (b *Builder) addAlert(a Alert) {
	b.r.Lanes[b.specialLane(AlertLane)].Marks.Alert++
	b.r.Alerts = append(b.r.Alerts, a)
}

// eventKey tells an event among those written close to it.
type eventKey struct {
	t        int64
	pid, tid uint32
	kind     event.Kind
}

func keyOf(ev *event.Event) eventKey {
	return eventKey{t: ev.Time.UnixNano(), pid: ev.Pid, tid: ev.Tid, kind: ev.Kind}
}

type pendingAlert struct {
	alert   Alert
	trigger eventKey
}

// find returns the index of a recent event, or -1.
func (b *Builder) find(k eventKey) int {
	for i := len(b.r.events) - 1; i >= 0 && i >= len(b.r.events)-256; i-- {
		e := &b.r.events[i]
		if e.t == k.t && e.pid == k.pid && e.tid == k.tid && e.kind == k.kind {
			return i
		}
	}
	return -1
}

// settle keeps the alerts waiting for the event just written, if it is
// their trigger; a trigger that is not the next event kept was filtered out.
func (b *Builder) settle(ev *event.Event) {
	k, i := keyOf(ev), len(b.r.events)-1
	for _, p := range b.pending {
		if p.trigger == k {
			p.alert.Event = i
			b.addAlert(p.alert)
		}
	}
	b.pending = b.pending[:0]
}

// change places one change on its lane.
func (b *Builder) change(ev *event.Event, c *event.Change) {
	lane := b.laneFor(c)
	l := &b.r.Lanes[lane]
	from := int32(-1)
	switch c.Action {
	case event.Create:
		l.Marks.Create++
		if l.Created.IsZero() {
			l.Created = ev.Time
			l.Creator = b.creatorOf(ev)
			l.Label = ""
		}
		b.reuse(c.To, lane, ev.Time)
	case event.Join:
		l.Marks.Join++
		if c.From != 0 && c.From != c.To {
			from = b.laneAt(resolve.BaseType(c.Type), c.From)
			l = &b.r.Lanes[lane] // laneAt may have grown the slice
		}
	case event.Gone:
		l.Marks.Destroy++
		l.Gone = ev.Time
		k := inoKey{l.Type, c.To}
		if b.byInode[k] == lane {
			delete(b.byInode, k)
		}
	}
	b.label(lane, c.Name, c.Host, c.Container, c.Owner)
	b.r.changes = append(b.r.changes, changeRec{typ: c.Type, action: c.Action, from: c.From, to: c.To,
		nsid: c.NsID, lane: lane, fromLane: from})
}

// reuse notes that a new namespace got inode ino: the kernel gives every
// namespace type its inodes from one allocator and reuses one only once
// its namespace is gone, so the one that had it before ended by now. This
// is how lifelines end where no destroy hook attached.
func (b *Builder) reuse(ino uint32, lane int32, at time.Time) {
	if prev, ok := b.lastIno[ino]; ok && prev != lane {
		if p := &b.r.Lanes[prev]; p.Gone.IsZero() && p.Reused.IsZero() {
			p.Reused = at
		}
	}
	b.lastIno[ino] = lane
}

// laneFor finds or makes the lane of the namespace a change moved into.
// A create always makes a new namespace: an inode seen before belonged to
// one that died. With a 64-bit id, the id decides; a lane first met without
// one (as where a process came from) is taken to be the same namespace.
func (b *Builder) laneFor(c *event.Change) int32 {
	t := resolve.BaseType(c.Type)
	ik := inoKey{t, c.To}
	if c.NsID != 0 {
		if i, ok := b.byID[idKey{t, c.NsID}]; ok {
			b.byInode[ik] = i
			return i
		}
	}
	i, ok := b.byInode[ik]
	switch {
	case !ok || c.Action == event.Create:
		i = b.newLane(t, c.To)
	case c.NsID != 0 && b.r.Lanes[i].NsID != 0 && b.r.Lanes[i].NsID != c.NsID:
		i = b.newLane(t, c.To) // the inode's earlier namespace, by another id
	}
	if c.NsID != 0 && b.r.Lanes[i].NsID == 0 {
		b.r.Lanes[i].NsID = c.NsID
		b.byID[idKey{t, c.NsID}] = i
	}
	b.byInode[ik] = i
	return i
}

// laneAt is the lane of a namespace known only by type and inode: the
// latest with that inode, or a new one for a namespace that existed before.
func (b *Builder) laneAt(t event.NsType, ino uint32) int32 {
	if i, ok := b.byInode[inoKey{t, ino}]; ok {
		return i
	}
	i := b.newLane(t, ino)
	b.byInode[inoKey{t, ino}] = i
	return i
}

func (b *Builder) newLane(t event.NsType, ino uint32) int32 {
	i := int32(len(b.r.Lanes))
	b.r.Lanes = append(b.r.Lanes, Lane{Kind: NamespaceLane, Type: t, Inode: ino})
	b.laneCtr = append(b.laneCtr, -1)
	l := &b.r.Lanes[i]
	if b.opts.Lookup != nil {
		if n, ok := b.opts.Lookup(t, ino); ok {
			if n.Creator != nil {
				l.Creator = &Creator{Pid: n.Creator.Pid, Comm: render.Sanitize(n.Creator.Comm),
					Syscall: render.Sanitize(n.Creator.Syscall)}
			}
			if n.NsID != 0 {
				if _, taken := b.byID[idKey{t, n.NsID}]; !taken {
					l.NsID = n.NsID
					b.byID[idKey{t, n.NsID}] = i
				}
			}
			b.label(i, n.Name(), n.Host, n.Container, n.Owner)
		}
	}
	if !l.Host {
		b.hostEv.Changes[0] = event.Change{Type: t, Action: event.Join, To: ino}
		b.host.Resolve(&b.hostEv)
		b.label(i, "", b.hostEv.Changes[0].Host, nil, 0)
	}
	if l.Label == "" {
		b.label(i, "", false, nil, 0)
	}
	return i
}

// label adds what resolution knows to a lane, remaking its label only when
// that says something new.
func (b *Builder) label(lane int32, name string, host bool, ctr *event.Container, owner uint32) {
	l := &b.r.Lanes[lane]
	changed := l.Label == ""
	if name != "" && name != l.rawName {
		l.rawName, l.Name, changed = name, render.Sanitize(name), true
	}
	if host && !l.Host {
		l.Host, changed = true, true
	}
	if ctr != nil {
		if i := b.container(ctr); i != b.laneCtr[lane] {
			b.laneCtr[lane], l.Container, changed = i, render.Sanitize(ctr.Label()), true
		}
	}
	if l.Owner == 0 {
		l.Owner = owner
	}
	if changed {
		l.Label = laneLabel(l)
	}
}

// laneLabel says what a namespace is: its name in quotes, host, its
// container; failing those, who created it; "unnamed" when nothing is known.
func laneLabel(l *Lane) string {
	var b []byte
	if l.rawName != "" {
		b = render.AppendQuoted(b, l.rawName)
	}
	if l.Host {
		b = appendWord(b, "host")
	}
	if l.Container != "" {
		b = appendWord(b, l.Container)
	}
	if len(b) == 0 && l.Creator != nil {
		b = append(b, "by "...)
		b = append(b, l.Creator.Comm...)
		b = append(b, '[')
		b = strconv.AppendUint(b, uint64(l.Creator.Pid), 10)
		b = append(b, ']')
	}
	if len(b) == 0 {
		return "unnamed"
	}
	return string(b)
}

func appendWord(b []byte, w string) []byte {
	if len(b) > 0 {
		b = append(b, ' ')
	}
	return append(b, w...)
}

func (b *Builder) specialLane(k LaneKind) int32 {
	if b.special[k] < 0 {
		b.special[k] = int32(len(b.r.Lanes))
		b.r.Lanes = append(b.r.Lanes, Lane{Kind: k, Label: specialLabels[k]})
		b.laneCtr = append(b.laneCtr, -1)
	}
	return b.special[k]
}

var specialLabels = [...]string{AlertLane: "alerts", FailedLane: "failed attempts", LostLane: "records lost"}

// creatorOf is the process that made the call: for clone the parent,
// whose comm the child still has.
func (b *Builder) creatorOf(ev *event.Event) *Creator {
	pid := ev.Pid
	if ev.Kind == event.Clone && ev.Ppid != 0 {
		pid = ev.Ppid
	}
	return &Creator{Pid: pid, Comm: b.r.strs[b.str(ev.Comm)], Syscall: ev.Kind.String()}
}

// str interns a string from a process, sanitized.
func (b *Builder) str(s string) int32 {
	if i, ok := b.strIdx[s]; ok {
		return i
	}
	i := int32(len(b.r.strs))
	b.r.strs = append(b.r.strs, render.Sanitize(s))
	b.strIdx[s] = i
	return i
}

// flagSet interns the names of the set flags, space separated.
func (b *Builder) flagSet(flags uint64) int32 {
	b.flags = b.flags[:0]
	event.EachFlagName(flags, func(name string) {
		b.flags = appendWord(b.flags, name)
	})
	if i, ok := b.strIdx[string(b.flags)]; ok {
		return i
	}
	return b.str(string(b.flags))
}

func (b *Builder) container(c *event.Container) int32 {
	if c == nil {
		return -1
	}
	if i, ok := b.ctrIdx[*c]; ok {
		return i
	}
	i := int32(len(b.r.ctrs))
	b.r.ctrs = append(b.r.ctrs, event.Container{ID: render.Sanitize(c.ID), Runtime: render.Sanitize(c.Runtime),
		Name: render.Sanitize(c.Name)})
	b.ctrIdx[*c] = i
	return i
}

// Report finishes the report. The Builder must not be used after.
func (b *Builder) Report() *Report {
	r := &b.r
	if n := len(r.events); n > 0 {
		r.Start, r.End = time.Unix(0, r.events[0].t), time.Unix(0, r.events[0].t)
		for i := range r.events {
			t := time.Unix(0, r.events[i].t)
			if t.Before(r.Start) {
				r.Start = t
			}
			if t.After(r.End) {
				r.End = t
			}
		}
	}
	for i := range r.Alerts {
		if r.Alerts[i].Time.IsZero() {
			r.Alerts[i].Time = r.End
		}
	}
	r.Groups = groups(r.Lanes)
	r.Summary = b.tally.summarize(r)
	r.ByRule = alertsByRule(r.Alerts)
	return r
}
