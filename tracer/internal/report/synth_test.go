package report

import (
	"path/filepath"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/report/synth"
)

// synthEvents calls emit with n events of a busy container host
// (tracer/internal/report/synth).
func synthEvents(n int, emit func(*event.Event)) { synth.Events(n, emit) }

// writeSynthSession records n synthetic events to a session file.
func writeSynthSession(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "busy.jsonl")
	if err := synth.WriteSession(path, n, 0); err != nil {
		tb.Fatal(err)
	}
	return path
}
