package cli

import (
	"io"

	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/filter"
)

// recordedRun is what replay and report both build from their flags and a
// recording: the recording opened, its filter, and detection with the
// rules the flags and the recording choose.
type recordedRun struct {
	rec      *recording
	filt     *filter.Filter
	rules    *detect.Rules
	det      *detection
	recorded bool // the recording's own alerts are shown, no rules rerun
}

// openRecordedRun opens the recording args name for cmd (replay, report).
// On success the caller closes run.rec.r.
func openRecordedRun(cmd string, args []string, ff *filterFlags, af *alertFlags, since, until string, stderr io.Writer) (*recordedRun, error) {
	opts, err := ff.options()
	if err != nil {
		return nil, err
	}
	rules, err := af.load()
	if err != nil {
		return nil, err
	}
	rec, err := openRecording(cmd, args, opts, since, until)
	if err != nil {
		return nil, err
	}
	rules, recorded := af.forRecording(rec.r.First(), rules)
	filt, err := newFilter(rec.opts)
	if err != nil {
		rec.r.Close()
		return nil, err
	}
	det := newDetection(rules, nil, stderr, detect.WithNamespaces(rec.res))
	return &recordedRun{rec: rec, filt: filt, rules: rules, det: det, recorded: recorded}, nil
}
