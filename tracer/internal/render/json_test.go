package render

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// failAfter accepts n bytes, then fails every write.
type failAfter struct {
	n   int
	out bytes.Buffer
}

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.out.Write(p[:k])
		f.n = 0
		return k, errDiskFull
	}
	f.n -= len(p)
	return f.out.Write(p)
}

// Lines are written whole and in order once the buffer fills or on Flush,
// events and preformatted lines alike.
func TestJSONWritesWholeLinesInOrder(t *testing.T) {
	var out bytes.Buffer
	w := NewJSON(&out)
	ev := event.Event{Time: time.Date(2026, 11, 30, 1, 2, 3, 4, time.UTC), Kind: event.Setns, Pid: 7, Tid: 7, Comm: "x",
		Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026532200, To: 4026531838}}}
	want := string(ev.AppendJSON(nil)) + "\n"
	n := jsonBuffer/len(want) + 10 // past one buffer's worth
	for i := range n {
		if i == 3 {
			if err := w.Line([]byte(`{"alert":1}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Event(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() == 0 || out.Len()%len(want) != len(`{"alert":1}`)+1 {
		t.Errorf("before Flush: %d bytes written, want whole lines (a full buffer's worth)", out.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(out.String(), "\n")
	if len(lines) != n+2 || lines[n+1] != "" || lines[3] != `{"alert":1}`+"\n" {
		t.Fatalf("%d lines, want %d and the alert fourth", len(lines)-1, n+1)
	}
	for i, l := range append(lines[:3:3], lines[4:n+1]...) {
		if l != want {
			t.Fatalf("line %d: %q, want %q", i, l, want)
		}
	}
}

// A failed write is returned, and every later call returns it again
// without writing.
func TestJSONStopsAtTheFirstWriteError(t *testing.T) {
	f := &failAfter{n: 100}
	w := NewJSON(f)
	ev := event.Event{Kind: event.Setns, Pid: 7, Tid: 7, Comm: "x"}
	var err error
	for i := 0; err == nil && i < jsonBuffer; i++ {
		err = w.Event(&ev)
	}
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Event: %v, want the write's error", err)
	}
	written := f.out.Len()
	for _, e := range []error{w.Event(&ev), w.Line([]byte("{}")), w.Flush()} {
		if !errors.Is(e, errDiskFull) {
			t.Errorf("after the failure: %v, want the same error", e)
		}
	}
	if f.out.Len() != written {
		t.Errorf("%d more bytes written after the failure", f.out.Len()-written)
	}
}

// A writer that takes less than it was given without an error (against
// io.Writer's contract) is a short write.
func TestJSONShortWriteIsAnError(t *testing.T) {
	w := NewJSON(shortWriter{})
	ev := event.Event{Kind: event.Setns, Pid: 7, Tid: 7, Comm: "x"}
	if err := w.Event(&ev); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("Flush: %v, want io.ErrShortWrite", err)
	}
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }
