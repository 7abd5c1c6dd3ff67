package cli

import (
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

// output is where events and alerts go to be shown: text or JSON Lines. It
// is a sink of the pipeline, for trace and replay alike.
type output struct {
	text *render.Text
	json *render.JSON
	w    io.Writer // what text writes to, for alert lines
	// alertsOnly shows the alerts and not the events (--alerts-only).
	alertsOnly bool
	color      bool
	buf        []byte
}

func newOutput(format string, w io.Writer) (*output, error) {
	opts, isText, err := textOptions(format, w)
	if err != nil {
		return nil, err
	}
	switch {
	case isText && opts.Format == render.Compact && opts.Width == 0:
		// Piped: the whole line scripts have always parsed, unchanged.
		return &output{text: render.NewText(w), w: w, color: wantColor(w)}, nil
	case isText:
		return &output{text: render.NewTextWith(w, opts), w: w, color: wantColor(w)}, nil
	}
	return &output{json: render.NewJSON(w), w: w, color: wantColor(w)}, nil
}

// start writes what comes before the first event: the text column names.
func (o *output) start() error {
	if o.text != nil && !o.alertsOnly {
		if err := o.text.Header(); err != nil {
			return err
		}
		return o.text.Flush()
	}
	return nil
}

func (o *output) WriteEvent(ev *event.Event) error {
	switch {
	case o.alertsOnly:
		return nil
	case o.text != nil:
		return o.text.Event(ev)
	}
	return o.json.Event(ev)
}

// WriteAlert shows an alert: a JSON line buffered like the events, or a
// text line after what the text writer holds, in colour on a terminal.
func (o *output) WriteAlert(a *detect.Alert) error {
	if o.json != nil {
		o.buf = a.AppendJSON(o.buf[:0])
		return o.json.Line(o.buf)
	}
	if err := o.text.Flush(); err != nil {
		return err
	}
	o.buf = append(a.AppendText(o.buf[:0], o.color), '\n')
	_, err := o.w.Write(o.buf)
	return err
}

func (o *output) Flush() error {
	if o.text != nil {
		return o.text.Flush()
	}
	return o.json.Flush()
}

// wantColor: only a terminal gets colour, and never with NO_COLOR set
// (https://no-color.org).
func wantColor(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
