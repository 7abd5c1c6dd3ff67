package render

import (
	"bufio"
	"io"

	"github.com/nstrace/nstrace/tracer/event"
)

// JSON writes one JSON object per line, in the schema README.md documents
// under "JSON schema".
type JSON struct {
	w    *bufio.Writer
	buf  []byte
	nums event.Numbers
}

// NewJSON returns a JSON Lines writer on w.
func NewJSON(w io.Writer) *JSON {
	return &JSON{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 1024)}
}

// Event writes ev as one line.
func (j *JSON) Event(ev *event.Event) error {
	j.buf = ev.AppendJSONWith(j.buf[:0], &j.nums)
	j.buf = append(j.buf, '\n')
	_, err := j.w.Write(j.buf)
	return err
}

// Line writes a preformatted JSON object (e.g. an alert) as one line.
func (j *JSON) Line(obj []byte) error {
	if _, err := j.w.Write(obj); err != nil {
		return err
	}
	return j.w.WriteByte('\n')
}

// Flush writes out what is buffered.
func (j *JSON) Flush() error { return j.w.Flush() }
