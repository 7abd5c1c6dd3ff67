package render

import (
	"io"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/reserve"
)

// jsonBuffer is how many bytes of lines JSON gathers before it writes them:
// one write a couple of hundred events under churn. The kernel's cost of a
// write to a file grows with the pages it touches; writes this large let
// it take the page cache in larger pieces, and still fit the cache the
// lines were just encoded in.
const jsonBuffer = 256 << 10

// JSON writes one JSON object per line, in the schema README.md documents
// under "JSON schema". Lines are encoded straight into the buffer that is
// written, not copied into another.
type JSON struct {
	w     io.Writer
	buf   []byte // lines not yet written
	nums  event.Numbers
	ahead *reserve.Reserver
	err   error // sticky: the first write error; nothing is written after it
}

// NewJSON returns a JSON Lines writer on w.
func NewJSON(w io.Writer) *JSON {
	return &JSON{w: w, buf: make([]byte, 0, jsonBuffer+16<<10), ahead: reserve.New(w)}
}

// Event writes ev as one line.
func (j *JSON) Event(ev *event.Event) error {
	if j.err != nil {
		return j.err
	}
	j.buf = ev.AppendJSONWith(j.buf, &j.nums)
	j.buf = append(j.buf, '\n')
	return j.written()
}

// Line writes a preformatted JSON object (e.g. an alert) as one line.
func (j *JSON) Line(obj []byte) error {
	if j.err != nil {
		return j.err
	}
	j.buf = append(j.buf, obj...)
	j.buf = append(j.buf, '\n')
	return j.written()
}

// written writes the buffer out once it is full.
func (j *JSON) written() error {
	if len(j.buf) < jsonBuffer {
		return nil
	}
	return j.Flush()
}

// Flush writes out what is buffered.
func (j *JSON) Flush() error {
	if j.err != nil || len(j.buf) == 0 {
		return j.err
	}
	j.ahead.Before(len(j.buf))
	n, err := j.w.Write(j.buf)
	if err == nil && n < len(j.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		j.err = err
		return err
	}
	j.buf = j.buf[:0]
	return nil
}
