package main

import (
	"fmt"
	"io"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/render"
)

// output is where events go to be shown: text or JSON Lines. It is a sink
// of the pipeline, for trace and replay alike.
type output struct {
	text *render.Text
	json *render.JSON
}

func newOutput(format string, w io.Writer) (*output, error) {
	switch format {
	case "text":
		return &output{text: render.NewText(w)}, nil
	case "json":
		return &output{json: render.NewJSON(w)}, nil
	}
	return nil, usageError{fmt.Errorf("unknown output format %q (want text or json)", format)}
}

// start writes what comes before the first event: the text column names.
func (o *output) start() error {
	if o.text != nil {
		if err := o.text.Header(); err != nil {
			return err
		}
		return o.text.Flush()
	}
	return nil
}

func (o *output) WriteEvent(ev *event.Event) error {
	if o.text != nil {
		return o.text.Event(ev)
	}
	return o.json.Event(ev)
}

func (o *output) Flush() error {
	if o.text != nil {
		return o.text.Flush()
	}
	return o.json.Flush()
}
