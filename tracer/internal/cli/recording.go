package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
	"github.com/nstrace/nstrace/tracer/session"
)

// recording is a session opened for replay or report: its reader and paths,
// the filter options with the --since/--until window placed from its start,
// a resolver built from its inventory, and the verifier that checks its
// seals as it is read.
type recording struct {
	r     *session.Reader
	paths []string
	opts  filter.Options
	res   *resolve.Resolver
	seals *sealedLines
}

// sealedLines is the verifier a recording's lines pass through, which also
// notes whether any of them was a seal record: a recording without one was
// made unsealed (--seal=false, an older nstrace) and has no seal to break.
type sealedLines struct {
	*seal.Verifier
	seen bool
}

var sealPrefix = []byte(`{"event":"seal",`)

func (s *sealedLines) Line(pos sessionhook.Position, line []byte, complete bool) {
	if !s.seen && bytes.HasPrefix(line, sealPrefix) {
		s.seen = true
	}
	s.Verifier.Line(pos, line, complete)
}

// openRecording opens the files args name (globs, "-"); verb ("replay",
// "report") starts its error messages. The caller closes r.
func openRecording(verb string, args []string, opts filter.Options, since, until string) (*recording, error) {
	from, err := parseEdge("--since", since)
	if err != nil {
		return nil, err
	}
	to, err := parseEdge("--until", until)
	if err != nil {
		return nil, err
	}
	paths, err := expandPaths(args)
	if err != nil {
		return nil, err
	}
	var end time.Time
	if from.fromEnd || to.fromEnd {
		if end, err = recordingEnd(paths); err != nil {
			var ue usageError
			if errors.As(err, &ue) {
				return nil, err
			}
			return nil, fmt.Errorf("%s %w", verb, err)
		}
	}
	seals := &sealedLines{Verifier: seal.NewVerifier(nil, nil)}
	r, err := seal.OpenWatched(seals, paths...)
	if err != nil {
		return nil, fmt.Errorf("%s %w", verb, err)
	}
	first := r.First()
	if from.set {
		opts.Since = from.at(first.Started, end)
	}
	if to.set {
		opts.Until = to.at(first.Started, end)
	}
	res, err := replayResolver(first)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("%s %s: %w", verb, render.Sanitize(paths[0]), err)
	}
	return &recording{r: r, paths: paths, opts: opts, res: res, seals: seals}, nil
}

// replayResolver resolves from the inventory a session was recorded with,
// never looking at this machine: replay labels as the live run did.
func replayResolver(h *session.Header) (*resolve.Resolver, error) {
	var inv inventory.Inventory
	ok, err := h.DecodeInventory(&inv)
	if err != nil {
		return nil, err
	}
	if !ok {
		return resolve.New(nil, resolve.WithoutLiveLookups()), nil
	}
	return resolve.New(&inv, resolve.WithoutLiveLookups()), nil
}

// replaySession runs a recording through p: every event and, with
// recorded, the alerts the recorder wrote, each after the event that
// raised it. verb ("replay", "report") starts its error messages. check,
// if not nil, runs after each record; its error ends the replay. The
// caller finishes p.
func replaySession(r *session.Reader, p *pipeline.Pipeline, verb string, recorded bool, check func() error) error {
	p.Session(r.First())
	for {
		rec, err := r.NextRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s %w", verb, err)
		}
		switch {
		case rec.Event != nil:
			p.Session(r.Header())
			err = p.Event(rec.Event)
		case recorded:
			a := alertOf(rec.Alert)
			err = p.RecordedAlert(&a)
		}
		if err == nil && check != nil {
			err = check()
		}
		if err != nil {
			return err
		}
		// Streaming from a pipe: show what came before waiting for more.
		if !r.Buffered() {
			if err := p.Flush(); err != nil {
				return err
			}
		}
	}
}

// describeDetection is the line saying that the alerts shown are the
// recorded ones.
func describeDetection(h *session.Header) string {
	names := make([]string, len(h.Detection.Rules))
	for i, n := range h.Detection.Rules {
		names[i] = render.Sanitize(n)
	}
	return fmt.Sprintf("alerts as recorded by rules %s (--rerun-rules to run them again)", strings.Join(names, ", "))
}

// alertOf turns an alert record back into the alert the detector raised.
func alertOf(a *session.Alert) detect.Alert {
	sev, _ := detect.ParseSeverity(a.Severity) // unknown: shown as "unknown"
	return detect.Alert{Time: a.Time, Rule: a.Rule, Severity: sev, Message: a.Message, Pid: a.Pid, Tid: a.Tid,
		Comm: a.Comm, Container: a.Container, Trigger: a.Trigger, Joined: a.Joined, Userns: a.Userns,
		Created: a.Created, Suppressed: a.Suppressed, Shared: a.Shared, Count: a.Count, Last: a.Last,
		Mitre: a.Mitre, Also: a.Also}
}
