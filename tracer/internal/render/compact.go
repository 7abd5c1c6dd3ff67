package render

import (
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// TextFormat is how much a text line says.
type TextFormat uint8

const (
	// Compact fits a line into TextOptions.Width: milliseconds, no ppid,
	// and labels and change lists shortened by the rule in README's output
	// section when the line is too wide.
	Compact TextFormat = iota
	// Wide says everything: microseconds, ppid, uid, each change's from
	// inode and ns_id, labels whole.
	Wide
)

// TextOptions choose a text stream's format.
type TextOptions struct {
	Format TextFormat
	// Width is the columns a compact line must fit: the terminal's width
	// when standard output is one; 0 when it is not, for whole lines.
	Width int
}

// CompactHeader and WideHeader name the columns of each format.
const (
	CompactHeader = "TIME(UTC)        PID COMM            EVENT   CHANGES"
	WideHeader    = "TIME(UTC)           PID    PPID   UID COMM             EVENT   CHANGES"
)

// labelMax is how many columns a label (a namespace's name, a container,
// pod or executable) keeps when a compact line is too wide.
const labelMax = 16

// NewTextWith returns a text writer in the format opts choose, which marks
// a namespace whose inode was seen before with another identity.
func NewTextWith(w io.Writer, opts TextOptions) *Text {
	t := NewText(w)
	t.opts, t.styled, t.reuse = opts, true, newReuse()
	return t
}

// appendCompact appends ev's compact line. Past opts.Width columns, labels
// are cut to labelMax columns; still past it, the changes that do not fit
// are counted as "+N more"; the time, pid, comm, event, a failure and the
// container are never dropped.
func (t *Text) appendCompact(b []byte, ev *event.Event) []byte {
	start := len(b)
	b = t.compactLine(b, ev, 0, len(ev.Changes))
	if t.opts.Width <= 0 || cols(b[start:]) <= t.opts.Width {
		return b
	}
	for keep := len(ev.Changes); keep >= 0; keep-- {
		b = t.compactLine(b[:start], ev, labelMax, keep)
		if cols(b[start:]) <= t.opts.Width {
			break
		}
	}
	return b
}

// compactLine writes the line with labels cut to limit columns (0: whole)
// and the first keep changes.
func (t *Text) compactLine(b []byte, ev *event.Event, limit, keep int) []byte {
	b = ev.Time.UTC().AppendFormat(b, "15:04:05.000")
	if ev.Kind == event.Lost || ev.Kind == event.Flood {
		return appendLostOrFlood(b, ev)
	}
	b = appendRight(b, uint64(ev.Pid), 8)
	b = appendCommKind(append(b, ' '), ev, 15)
	b = appendFailure(b, ev, limit == 0 || ev.Target == nil)
	for i := range ev.Changes[:keep] {
		b = append(b, ' ')
		b = t.appendChangeCut(b, &ev.Changes[i], ev.Container, limit, false)
	}
	if n := len(ev.Changes) - keep; n > 0 {
		b = append(b, " +"...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " more"...)
	}
	if ev.Container != nil {
		b = append(b, " in "...)
		b = appendCut(b, ev.Container.Label(), limit)
	}
	return appendExeCut(b, ev, limit)
}

// appendWide appends ev's wide line: everything the event holds.
func (t *Text) appendWide(b []byte, ev *event.Event) []byte {
	b = encode.AppendTimeOfDay(b, ev.Time)
	if ev.Kind == event.Lost || ev.Kind == event.Flood {
		return appendLostOrFlood(b, ev)
	}
	b = appendRight(b, uint64(ev.Pid), 8)
	b = appendRight(b, uint64(ev.Ppid), 8)
	b = appendRight(b, uint64(ev.UID), 6)
	b = appendCommKindTid(b, ev)
	b = appendFailure(b, ev, true)
	for i := range ev.Changes {
		b = append(b, ' ')
		b = t.appendChangeCut(b, &ev.Changes[i], ev.Container, 0, true)
	}
	if c := ev.Container; c != nil {
		b = append(b, " in "...)
		b = AppendSanitized(b, c.Runtime)
		b = append(b, ' ')
		b = AppendSanitized(b, c.ID)
		if c.Name != "" {
			b = append(b, ' ')
			b = AppendQuoted(b, c.Name)
		}
		if c.Image != "" {
			b = append(b, " image "...)
			b = AppendQuoted(b, c.Image)
		}
		if p := c.Pod; p != nil {
			b = append(b, " pod "...)
			b = AppendSanitized(b, p.Namespace)
			b = append(b, '/')
			b = AppendSanitized(b, p.Name)
		}
	}
	return appendExe(b, ev)
}

func appendLostOrFlood(b []byte, ev *event.Event) []byte {
	line := AppendText(nil, ev)
	return append(b, line[len(encode.AppendTimeOfDay(nil, ev.Time)):]...)
}

// appendFailure writes what failed; without flags, the target alone says
// which type was asked for.
func appendFailure(b []byte, ev *event.Event, flags bool) []byte {
	if !ev.Failed() {
		return b
	}
	b = append(b, " ✗ "...)
	b = append(b, event.ErrnoName(ev.Errno)...)
	if flags {
		b = appendFlags(b, ev)
	}
	if ev.Target != nil {
		b = append(b, " → "...)
		b = append(b, ev.Target.Type.String()...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(ev.Target.Inode), 10)
	}
	return b
}

func appendFlags(b []byte, ev *event.Event) []byte {
	cloneflags.Each(ev.Flags&cloneflags.Namespaces, func(name string) {
		b = append(b, ' ')
		b = append(b, name...)
	})
	return b
}

// appendChangeCut writes a change as appendChange does, its labels cut to
// limit columns, with the inode's reuse mark; wide adds from and ns_id.
func (t *Text) appendChangeCut(b []byte, c *event.Change, own *event.Container, limit int, wide bool) []byte {
	b = appendChangeHead(b, c)
	b = t.reuse.appendMark(b, c)
	if c.Name != "" {
		b = append(b, ' ')
		s := len(b)
		b = AppendQuoted(b, c.Name)
		if limit > 0 && cols(b[s:]) > limit {
			q := AppendQuoted(nil, c.Name)
			b = appendCut(b[:s], string(q), limit)
		}
	}
	if c.Host {
		b = append(b, " (host)"...)
	}
	if c.Container != nil && (own == nil || c.Container.ID != own.ID) {
		b = append(b, ' ')
		b = appendCut(b, c.Container.Label(), limit)
	}
	if wide {
		if c.From != 0 {
			b = append(b, " from "...)
			b = strconv.AppendUint(b, uint64(c.From), 10)
		}
		if c.NsID != 0 {
			b = append(b, " ns_id "...)
			b = strconv.AppendUint(b, c.NsID, 10)
		}
	}
	return b
}

// appendCut appends s sanitized, cut to limit columns with a final "…"
// (0: whole).
func appendCut(b []byte, s string, limit int) []byte {
	start := len(b)
	b = AppendSanitized(b, s)
	if limit <= 0 || cols(b[start:]) <= limit {
		return b
	}
	n, i := 0, start
	for i < len(b) && n < limit-1 {
		_, size := utf8.DecodeRune(b[i:])
		i += size
		n++
	}
	return append(b[:i], "…"...)
}

func cols(b []byte) int { return utf8.RuneCount(b) }
