package main

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/filter"
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
	p := &pipeline{filter: f, sinks: []sink{out, w}}
	ev := replayEventsFixture()[1] // setns by ip into a net namespace
	changes := ev.Changes
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev.Changes = changes
		ev.Pid = uint32(i)
		ev.Time = ev.Time.Add(time.Microsecond)
		if err := p.event(&ev); err != nil {
			b.Fatal(err)
		}
	}
	p.flush()
	b.StopTimer()
	if p.kept != uint64(b.N) {
		b.Fatalf("kept %d of %d", p.kept, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
