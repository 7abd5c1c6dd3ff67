package report

import (
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

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
	t := inventory.BaseType(c.Type)
	ik := inoKey{t, c.To}
	if b.full() {
		if i, ok := b.known(t, c); ok {
			return i
		}
		return b.foldedLane(t)
	}
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
	if b.full() {
		return b.foldedLane(t)
	}
	i := b.newLane(t, ino)
	b.byInode[inoKey{t, ino}] = i
	return i
}

func (b *Builder) newLane(t event.NsType, ino uint32) int32 {
	b.nsLanes++
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
		b.label(i, "", inventory.IsInitial(t, ino), nil, 0)
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

// full reports whether every namespace lane allowed is made: a namespace
// met since then has no lane of its own.
func (b *Builder) full() bool { return b.nsLanes >= b.opts.MaxLanes }

// known is the lane a change moved into when that namespace has one: by
// its id, or by its inode unless the change created it anew.
func (b *Builder) known(t event.NsType, c *event.Change) (int32, bool) {
	if c.NsID != 0 {
		if i, ok := b.byID[idKey{t, c.NsID}]; ok {
			return i, true
		}
	}
	if c.Action == event.Create {
		return 0, false
	}
	i, ok := b.byInode[inoKey{t, c.To}]
	if ok && c.NsID != 0 && b.r.Lanes[i].NsID != 0 && b.r.Lanes[i].NsID != c.NsID {
		return 0, false // the inode's earlier namespace, by another id
	}
	return i, ok
}

// foldedLane is the lane the namespaces of type t share past the limit.
// Nothing is kept of each of them: the lane counts their marks, and its
// label how many were created.
func (b *Builder) foldedLane(t event.NsType) int32 {
	if b.folded[t] < 0 {
		b.folded[t] = int32(len(b.r.Lanes))
		b.r.Lanes = append(b.r.Lanes, Lane{Kind: FoldedLane, Type: t})
		b.laneCtr = append(b.laneCtr, -1)
	}
	return b.folded[t]
}

func foldedLabel(t event.NsType, created, limit int) string {
	return "more " + t.String() + " namespaces: " + strconv.Itoa(created) + " created past the first " +
		strconv.Itoa(limit) + " namespaces, counted together"
}
