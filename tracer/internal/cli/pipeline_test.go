package cli

import (
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/session"
)

// BenchmarkPipeline is the recorder's hot path past the decoder: filter,
// display (JSON to a discarded stdout) and session file. 0 allocs/op.
func BenchmarkPipeline(b *testing.B) {
	f, err := filter.New(filter.Options{Comms: []string{"i*"}, Types: []event.NsType{event.Net}, Events: []event.Kind{event.Setns}})
	if err != nil {
		b.Fatal(err)
	}
	w, err := session.Create(filepath.Join(b.TempDir(), "p.jsonl"), session.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	out, _ := newOutput("json", io.Discard)
	p := pipeline.New(pipeline.Options{Filter: f, Sinks: []pipeline.Sink{out, recordSink{w}}})
	ev := replayEventsFixture()[1] // setns by ip into a net namespace
	changes := ev.Changes
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev.Changes = changes
		ev.Pid = uint32(i)
		ev.Time = ev.Time.Add(time.Microsecond)
		if err := p.Event(&ev); err != nil {
			b.Fatal(err)
		}
	}
	p.Flush()
	b.StopTimer()
	if kept := p.Counts().Kept; kept != uint64(b.N) {
		b.Fatalf("kept %d of %d", kept, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// The adversarial run's file: count 18446744073709551615, then 1.
func TestReplayOfLossesPast64BitsSaysAtLeast(t *testing.T) {
	path := makeSession(t, "wrap.jsonl", []event.Event{
		{Time: start, Kind: event.Lost, Lost: math.MaxUint64},
		{Time: start.Add(time.Second), Kind: event.Lost, Lost: 1},
	})
	_, stderr, code := nstrace(t, nil, "replay", "-o", "json", path)
	if code != 0 || !strings.Contains(stderr, "nstrace: warning: more records lost than a 64-bit count holds") ||
		!strings.Contains(stderr, "nstrace: 0 events, at least 18446744073709551615 lost\n") {
		t.Errorf("status %d, stderr:\n%s", code, stderr)
	}
}

// recordSink is a bare session Writer as a sink.
type recordSink struct{ *session.Writer }

func (s recordSink) WriteAlert(a *detect.Alert) error { return s.Writer.WriteAlert(a) }
