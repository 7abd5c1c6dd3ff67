package session_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

// FuzzReader feeds the reader anything. It must never panic, must end, must
// fail only with a one-line *session.Error, and every event it returns must
// survive a second trip through JSON unchanged (replay -o json is faithful),
// as must every alert's trigger.
// Seeds live in testdata/fuzz/FuzzReader; run it with
//
//	go test -run '^$' -fuzz FuzzReader -fuzztime 20s ./tracer/session
func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"event":"session","format":1,"time":"2026-11-29T03:38:18Z"}` + "\n" +
		`{"time":"2026-11-29T03:38:18Z","event":"lost","count":1}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := session.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkError(t, err)
			return
		}
		for range len(data) + 1 { // no line yields more than one record
			rec, err := r.NextRecord()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				checkError(t, err)
				return
			}
			switch {
			case rec.Event != nil:
				checkRoundTrip(t, rec.Event)
			case rec.Alert == nil:
				t.Fatal("a record with neither an event nor an alert")
			case rec.Alert.Trigger != nil:
				checkRoundTrip(t, rec.Alert.Trigger)
			}
		}
		t.Fatal("more events than lines")
	})
}

func checkError(t *testing.T, err error) {
	var se *session.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *session.Error", err, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, "fuzz") {
		t.Fatalf("error is not one line naming the file: %q", msg)
	}
}

func checkRoundTrip(t *testing.T, ev *event.Event) {
	once := ev.AppendJSON(nil)
	var again event.Event
	if err := again.UnmarshalJSON(once); err != nil {
		t.Fatalf("re-encoded event does not decode: %v\n%s", err, once)
	}
	if twice := again.AppendJSON(nil); !bytes.Equal(once, twice) {
		t.Fatalf("JSON not stable:\n%s\n%s", once, twice)
	}
}
