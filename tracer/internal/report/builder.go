package report

import (
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/render"
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
	special [4]int32                // lane of each special kind; -1 until needed
	folded  [event.NumNsTypes]int32 // the folded lane of each type; -1 until needed
	nsLanes int                     // namespace lanes made
	foldedN [event.NumNsTypes]int   // namespaces created past the lane limit, by type
	laneCtr []int32                 // each lane's container index, to spot a new label cheaply
	tally   tally
	bands   bands
	banded  eventKey       // the last event folded into bands, for an alert raised on it
	t0, t1  int64          // the first and last event's time, unix ns
	pending []pendingAlert // alerts raised before their trigger was written
	// alerts past Options.MaxAlerts: rule and severity of the latest, and
	// the counts of the others
	unlisted  []Alert
	unlistedN []Counts

	sessions map[string]int // index into r.Sessions by recording id
	header   *session.Header
	flags    []byte
}

// Options configure a Builder.
type Options struct {
	// Lookup tells what the session's resolver knows of a namespace, for
	// lanes met only as where a process came from or a failed setns aimed.
	Lookup func(t event.NsType, inode uint32) (inventory.Namespace, bool)
	// MaxEvents is how many events are kept one by one, to be hovered and
	// clicked; past them, marks are counted in bands. 0: DefaultMaxEvents.
	MaxEvents int
	// MaxLanes is how many namespaces get a lane of their own; past them,
	// the namespaces of each type share one folded lane, where their marks
	// are counted and nothing else of them is kept. 0: DefaultMaxLanes.
	MaxLanes int
	// MaxAlerts is how many alerts are listed one by one; past them,
	// alerts are counted by rule only. 0: DefaultMaxAlerts.
	MaxAlerts int
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
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxEvents
	}
	if opts.MaxLanes <= 0 {
		opts.MaxLanes = DefaultMaxLanes
	}
	if opts.MaxAlerts <= 0 {
		opts.MaxAlerts = DefaultMaxAlerts
	}
	b := &Builder{
		opts: opts, bands: newBands(), byID: make(map[idKey]int32), byInode: make(map[inoKey]int32), lastIno: make(map[uint32]int32),
		strIdx: map[string]int32{"": 0}, ctrIdx: make(map[event.Container]int32),
		special: [4]int32{-1, -1, -1, -1}, sessions: make(map[string]int),
	}
	for i := range b.folded {
		b.folded[i] = -1
	}
	b.r.strs = []string{""}
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
	t := ev.Time.UnixNano()
	if len(b.r.events) == 0 && b.bands.events == 0 {
		b.t0, b.t1 = t, t
	}
	b.t0, b.t1 = min(b.t0, t), max(b.t1, t)
	b.tally.add(ev)
	if len(b.r.events) >= b.opts.MaxEvents {
		b.band(ev, t)
		return nil
	}
	rec := eventRec{t: t, kind: ev.Kind, errno: ev.Errno, pid: ev.Pid, tid: ev.Tid,
		ppid: ev.Ppid, uid: ev.UID, ctr: b.container(ev.Container), lane: -1, lost: ev.Lost}
	rec.comm = b.str(ev.Comm)
	if ev.Errno != 0 {
		rec.err = b.str(event.ErrnoName(ev.Errno))
		rec.flags = b.flagSet(ev.Flags & cloneflags.Namespaces)
	} else {
		rec.flags = b.flagSet(ev.Flags)
	}
	if ev.Target != nil {
		rec.target, rec.hasTarget = *ev.Target, true
	}
	rec.ch0 = int32(len(b.r.changes))
	switch {
	case ev.Kind == event.Lost:
		rec.lane = b.lostMark()
	case ev.Failed():
		rec.lane = b.failedMark(ev)
	default:
		for i := range ev.Changes {
			if int(ev.Changes[i].Type) < event.NumNsTypes {
				c := &ev.Changes[i]
				lane, from := b.change(ev, c)
				b.r.changes = append(b.r.changes, changeRec{typ: c.Type, action: c.Action, from: c.From, to: c.To,
					nsid: c.NsID, lane: lane, fromLane: from})
			}
		}
	}
	rec.ch1 = int32(len(b.r.changes))
	b.r.events = append(b.r.events, rec)
	if len(b.pending) > 0 {
		b.settle(ev, len(b.r.events)-1)
	}
	return nil
}

// band counts ev's marks in bands: the lanes learn from it as from an
// event kept, but nothing of it stays but the counts.
func (b *Builder) band(ev *event.Event, t int64) {
	if b.bands.events == 0 {
		b.bands.origin = t
	}
	b.bands.events++
	switch {
	case ev.Kind == event.Lost:
		b.bands.add(b.lostMark(), markLost, t)
	case ev.Failed():
		b.bands.add(b.failedMark(ev), markFailed, t)
	default:
		for i := range ev.Changes {
			if int(ev.Changes[i].Type) < event.NumNsTypes {
				lane, _ := b.change(ev, &ev.Changes[i])
				b.bands.add(lane, actionClass(ev.Changes[i].Action), t)
			}
		}
	}
	b.banded = keyOf(ev)
	if len(b.pending) > 0 {
		b.settle(ev, -1)
	}
}

func (b *Builder) lostMark() int32 {
	lane := b.specialLane(LostLane)
	b.r.Lanes[lane].Marks.Lost++
	return lane
}

// failedMark puts a failed attempt on the lane of the namespace it aimed
// at, when it names one.
func (b *Builder) failedMark(ev *event.Event) int32 {
	var lane int32
	if ev.Target != nil && ev.Target.Inode != 0 {
		lane = b.laneAt(inventory.BaseType(ev.Target.Type), ev.Target.Inode)
	} else {
		lane = b.specialLane(FailedLane)
	}
	b.r.Lanes[lane].Marks.Failed++
	return lane
}

// Flush does nothing: a report is written whole, at the end.
func (b *Builder) Flush() error { return nil }

// change places one change on its lane, and returns that lane and the
// one the task came from (-1: not drawn).
func (b *Builder) change(ev *event.Event, c *event.Change) (lane, from int32) {
	lane = b.laneFor(c)
	l := &b.r.Lanes[lane]
	from = -1
	if l.Kind == FoldedLane {
		l.Marks.count(c.Action)
		if c.Action == event.Create {
			b.foldedN[l.Type]++
		}
		return lane, from
	}
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
			from = b.laneAt(inventory.BaseType(c.Type), c.From)
		}
	case event.ActionDestroy:
		l.Marks.Destroy++
		l.Gone = ev.Time
		k := inoKey{l.Type, c.To}
		if b.byInode[k] == lane {
			delete(b.byInode, k)
		}
	}
	b.label(lane, c.Name, c.Host, c.Container, c.Owner)
	return lane, from
}

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
	cloneflags.Each(flags, func(name string) {
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
	ctr := event.Container{ID: render.Sanitize(c.ID), Runtime: render.Sanitize(c.Runtime),
		Name: render.Sanitize(c.Name), Image: render.Sanitize(c.Image)}
	if p := c.Pod; p != nil {
		ctr.Pod = &event.Pod{Name: render.Sanitize(p.Name), Namespace: render.Sanitize(p.Namespace), UID: render.Sanitize(p.UID)}
	}
	b.r.ctrs = append(b.r.ctrs, ctr)
	b.ctrIdx[*c] = i
	return i
}

// Report finishes the report. The Builder must not be used after.
func (b *Builder) Report() *Report {
	r := &b.r
	if len(r.events) > 0 || b.bands.events > 0 {
		r.Start, r.End = time.Unix(0, b.t0), time.Unix(0, b.t1)
	}
	r.bands = b.bands
	for i := range r.Alerts {
		if r.Alerts[i].Time.IsZero() {
			r.Alerts[i].Time = r.End
		}
	}
	for t, lane := range b.folded {
		if lane >= 0 {
			r.Lanes[lane].Label = foldedLabel(event.NsType(t), b.foldedN[t], b.opts.MaxLanes)
		}
	}
	r.Groups = groups(r.Lanes)
	b.tally.folded = b.foldedN
	r.Summary = b.tally.summarize(r)
	unlisted := mergeCounts(b.unlistedN, alertsByRule(b.unlisted))
	for _, c := range unlisted {
		r.Unlisted += c.N
	}
	r.ByRule = mergeCounts(alertsByRule(r.Alerts), unlisted)
	sortCounts(r.ByRule)
	return r
}
