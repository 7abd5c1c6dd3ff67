package pipeline

import (
	"bytes"
	"math"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/filter"
)

// Loss markers adding up past 2^64-1 leave the count at 2^64-1, said to be
// a floor, with one warning: not 0 lost.
func TestLostCountSaturatesWithOneWarning(t *testing.T) {
	f, _ := filter.New(filter.Options{})
	var warn bytes.Buffer
	p := New(Options{Filter: f, Warn: &warn})
	for _, n := range []uint64{math.MaxUint64, 1, 5} {
		if err := p.Event(&event.Event{Kind: event.Lost, Lost: n}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := p.Summary(), "0 events, at least 18446744073709551615 lost"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got, want := warn.String(), "nstrace: warning: more records lost than a 64-bit count holds: counting stops at 18446744073709551615\n"; got != want {
		t.Errorf("warnings %q, want %q", got, want)
	}
}
