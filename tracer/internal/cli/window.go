package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/session"
)

// windowEdge is a --since or --until value: a filter.Moment (a time, a time
// of day, an offset from the start), or, written -5m as docker logs and
// journalctl read it, a duration back from the end of the recording.
type windowEdge struct {
	set     bool
	moment  filter.Moment
	fromEnd bool
	back    time.Duration
}

func parseEdge(flag, s string) (windowEdge, error) {
	if s == "" {
		return windowEdge{}, nil
	}
	if strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s)
		if err != nil {
			return windowEdge{}, usageError{fmt.Errorf("%s %q: want a duration back from the end, such as -5m", flag, s)}
		}
		return windowEdge{set: true, fromEnd: true, back: -d}, nil
	}
	m, err := filter.ParseMoment(s)
	if err != nil {
		return windowEdge{}, usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return windowEdge{set: true, moment: m}, nil
}

// at places the edge in a recording that started at start and whose last
// event is at end.
func (e windowEdge) at(start, end time.Time) time.Time {
	if e.fromEnd {
		return end.Add(-e.back)
	}
	return e.moment.At(start)
}

// recordingEnd is the time of the last event in the files, read through
// once before the replay proper: what -5m counts back from. Problems in the
// files are left for the replay to report.
func recordingEnd(paths []string) (time.Time, error) {
	for _, p := range paths {
		if p == "-" {
			return time.Time{}, usageError{errors.New("a time back from the end (-5m) needs files: standard input cannot be read twice")}
		}
	}
	r, err := session.Open(paths...)
	if err != nil {
		return time.Time{}, err
	}
	defer r.Close()
	var end time.Time
	for {
		rec, err := r.NextRecord()
		if errors.Is(err, io.EOF) || err != nil && !end.IsZero() {
			return end, nil
		}
		if err != nil {
			return end, err
		}
		if rec.Event != nil && rec.Event.Time.After(end) {
			end = rec.Event.Time
		}
	}
}
