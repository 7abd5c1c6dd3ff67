package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/session"
)

// sessionSink records the pipeline's events and alerts to a session file.
// A failed write (a full disk) stops the recording, not the tracing: it is
// said once, the other sinks go on, and every event that did not reach the
// file is counted as lost (cause write).
type sessionSink struct {
	w      *session.Writer
	stderr io.Writer
	failed bool
	closed bool // Close was called
}

// startRecording creates the session file at path. Each of its parts
// carries the namespace inventory (snapshot) as the part starts and, when rules run,
// the rules whose alerts it records.
func startRecording(path string, opts session.Options, h session.Header, snapshot func() *inventory.Inventory,
	rules *detect.Rules, stderr io.Writer) (*sessionSink, error) {
	if rules != nil {
		h.Detection = &session.Detection{Rules: rules.Enabled()}
	}
	if err := h.SetInventory(snapshot()); err != nil {
		return nil, err
	}
	opts.Header = h
	opts.Inventory = func() (json.RawMessage, error) { return json.Marshal(snapshot()) }
	opts.Warn = func(msg string) { fmt.Fprintf(stderr, "nstrace: %s\n", msg) }
	w, err := createSession(path, opts)
	if err != nil {
		return nil, err
	}
	return &sessionSink{w: w, stderr: stderr}, nil
}

func (s *sessionSink) WriteEvent(ev *event.Event) error { return s.check(s.w.WriteEvent(ev)) }

func (s *sessionSink) WriteAlert(a *detect.Alert) error { return s.check(s.w.WriteAlert(a)) }

func (s *sessionSink) Flush() error { return s.check(s.w.Flush()) }

// check reports the recording's first error, once; the Writer counts what
// it could not write from then on.
func (s *sessionSink) check(err error) error {
	if err == nil || s.failed {
		return nil
	}
	s.failed = true
	fmt.Fprintf(s.stderr, "nstrace: %s: recording stopped; tracing goes on, events not recorded are counted as lost\n",
		render.Sanitize(err.Error()))
	return nil
}

// Unwritten counts the events that did not reach the file.
func (s *sessionSink) Unwritten() uint64 { return s.w.Unwritten() }

// Close ends the recording. An error already reported is not returned
// again.
func (s *sessionSink) Close() error {
	s.closed = true
	err := s.w.Close()
	if s.failed {
		return nil
	}
	if err != nil {
		s.failed = true
	}
	return err
}
