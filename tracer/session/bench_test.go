package session_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/session"
)

// BenchmarkWriteEvent records setns events, the churn the recorder must
// keep up with, to a real file. It must report 0 allocs/op.
func BenchmarkWriteEvent(b *testing.B) {
	for _, name := range []string{"s.jsonl", "s.jsonl.gz", "s.jsonl.zst"} {
		b.Run(name, func(b *testing.B) {
			w, err := session.Create(filepath.Join(b.TempDir(), name), session.Options{Header: testHeader()})
			if err != nil {
				b.Fatal(err)
			}
			ev := sampleEvents()[2] // a setns join of one net namespace
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ev.Pid = uint32(i)
				ev.Time = ev.Time.Add(time.Microsecond)
				if err := w.WriteEvent(&ev); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			w.Close()
		})
	}
}

// BenchmarkReader reads events back: replay speed.
func BenchmarkReader(b *testing.B) {
	evs := manyEvents(10000)
	path := filepath.Join(b.TempDir(), "r.jsonl")
	w, _ := session.Create(path, session.Options{Header: testHeader()})
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		r, err := session.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for n < b.N {
			if _, err := r.Next(); err != nil {
				break
			}
			n++
		}
		r.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
