package render

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// TextHeader names the columns of Text's lines.
const TextHeader = "TIME(UTC)           PID    PPID COMM             EVENT   CHANGES"

// Text writes one aligned line per event: time, pid, ppid, comm, event, and
// the changes as `net+ 4026532178 "name"` (created) or `net→ ...` (joined).
type Text struct {
	w      *bufio.Writer
	buf    []byte
	opts   TextOptions
	styled bool   // NewTextWith's formats; else AppendText's line
	reuse  *reuse // inodes seen, for reuse marks; nil: none made
}

// NewText returns a text writer on w.
func NewText(w io.Writer) *Text {
	return &Text{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 512)}
}

// Header writes the column names.
func (t *Text) Header() error {
	h := TextHeader
	switch {
	case t.styled && t.opts.Format == Wide:
		h = WideHeader
	case t.styled:
		h = CompactHeader
	}
	_, err := t.w.WriteString(h + "\n")
	return err
}

// Event writes ev as one line.
func (t *Text) Event(ev *event.Event) error {
	switch {
	case t.styled && t.opts.Format == Wide:
		t.buf = t.appendWide(t.buf[:0], ev)
	case t.styled:
		t.buf = t.appendCompact(t.buf[:0], ev)
	default:
		t.buf = AppendText(t.buf[:0], ev)
	}
	t.buf = append(t.buf, '\n')
	_, err := t.w.Write(t.buf)
	return err
}

// Flush writes out what is buffered.
func (t *Text) Flush() error { return t.w.Flush() }

// AppendText appends the text line for ev, without a newline.
func AppendText(b []byte, ev *event.Event) []byte {
	b = encode.AppendTimeOfDay(b, ev.Time)
	if ev.Kind == event.Lost {
		b = append(b, "  LOST "...)
		b = strconv.AppendUint(b, ev.Lost, 10)
		switch ev.Cause {
		case "":
			return append(b, " records dropped by the kernel (ring buffer full)"...)
		case event.LostShutdown:
			return append(b, " records unread when the drain at shutdown timed out (--drain-timeout)"...)
		}
		b = append(b, " records lost: "...)
		return AppendSanitized(b, ev.Cause)
	}
	if ev.Kind == event.Flood {
		return appendFloodText(b, ev)
	}
	b = appendRight(b, uint64(ev.Pid), 8)
	b = appendRight(b, uint64(ev.Ppid), 8)
	b = appendCommKindTid(b, ev)
	if ev.Failed() {
		b = append(b, " ✗ "...)
		b = append(b, event.ErrnoName(ev.Errno)...)
		cloneflags.Each(ev.Flags&cloneflags.Namespaces, func(name string) {
			b = append(b, ' ')
			b = append(b, name...)
		})
		if ev.Target != nil {
			b = append(b, " → "...)
			b = append(b, ev.Target.Type.String()...)
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(ev.Target.Inode), 10)
		}
	}
	for i := range ev.Changes {
		b = append(b, ' ')
		b = appendChange(b, &ev.Changes[i], ev.Container)
	}
	if ev.Container != nil {
		b = append(b, " in "...)
		b = AppendSanitized(b, ev.Container.Label())
	}
	return appendExe(b, ev)
}

// appendChange writes one change; its container is left out when it is the
// process's own, which the line ends with anyway.
func appendChange(b []byte, c *event.Change, own *event.Container) []byte {
	b = appendChangeHead(b, c)
	if c.Name != "" {
		b = append(b, ' ')
		b = AppendQuoted(b, c.Name)
	}
	if c.Host {
		b = append(b, " (host)"...)
	}
	if c.Container != nil && (own == nil || c.Container.ID != own.ID) {
		b = append(b, ' ')
		b = AppendSanitized(b, c.Container.Label())
	}
	return b
}

func appendRight(b []byte, v uint64, width int) []byte {
	var num [20]byte
	digits := strconv.AppendUint(num[:0], v, 10)
	for i := len(digits); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, digits...)
}

// pad fills b with spaces until the text since start is width bytes wide.
func pad(b []byte, start, width int) []byte {
	for utf8.RuneCount(b[start:]) < width {
		b = append(b, ' ')
	}
	return b
}

// appendCommKind appends the command padded to width, a space, and the
// event kind padded to 7.
func appendCommKind(b []byte, ev *event.Event, width int) []byte {
	start := len(b)
	b = AppendSanitized(b, ev.Comm)
	b = pad(b, start, width)
	b = append(b, ' ')
	start = len(b)
	b = append(b, ev.Kind.String()...)
	return pad(b, start, 7)
}

// appendCommKindTid appends the columns the text and wide lines share: the
// command padded to 16, the event kind padded to 7, and the thread when it
// is not the process's main one.
func appendCommKindTid(b []byte, ev *event.Event) []byte {
	b = appendCommKind(append(b, ' '), ev, 16)
	if ev.Tid != ev.Pid {
		b = append(b, " tid="...)
		b = strconv.AppendUint(b, uint64(ev.Tid), 10)
	}
	return b
}

// appendChangeHead writes what every form of a change starts with: the
// type, the action's sign (+ create, → join, - destroy) and the inode.
func appendChangeHead(b []byte, c *event.Change) []byte {
	b = append(b, c.Type.String()...)
	switch c.Action {
	case event.Create:
		b = append(b, '+')
	case event.Join:
		b = append(b, "→"...)
	case event.ActionDestroy:
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(c.To), 10)
	return b
}
