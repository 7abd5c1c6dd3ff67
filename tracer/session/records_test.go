package session_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/session"
)

// A reader meets record kinds a newer nstrace added: it reads every event
// around them, counts them, warns once per kind, and does not fail.
func TestUnknownRecordKindsAreSkippedAndCounted(t *testing.T) {
	good := validSession(t)
	lines := bytes.SplitAfter(good, []byte("\n"))
	var data []byte
	for i, l := range lines {
		data = append(data, l...)
		if i == 1 || i == 3 {
			data = append(data, `{"event":"watermark","time":"2026-11-29T03:38:18Z","hash":"ab12"}`+"\n"...)
		}
		if i == 2 {
			data = append(data, `{"time":"2026-11-29T03:38:18Z","event":"flood2","count":9,"nested":{"event":"setns"}}`+"\n"...)
		}
	}
	path := writeFile(t, "new.jsonl", data)
	got, r := readAll(t, path)
	if jsonLines(got) != jsonLines(sampleEvents()) {
		t.Fatalf("read\n%s\nwant\n%s", jsonLines(got), jsonLines(sampleEvents()))
	}
	if r.Skipped() != 3 {
		t.Errorf("Skipped() = %d, want 3", r.Skipped())
	}
	w := r.Warnings()
	if len(w) != 2 || w[0].Msg != `records of kind "watermark" skipped: not known to this nstrace (written by a newer one?)` ||
		w[0].Pos.Line != 3 || !strings.Contains(w[1].Msg, `"flood2"`) {
		t.Errorf("warnings = %v, want one per kind", w)
	}
}

func sampleAlert(trigger *event.Event) detect.Alert {
	return detect.Alert{Time: trigger.Time, Rule: "host-namespace-entry", Severity: detect.Critical,
		Message: "nsenter joined the host's net namespace", Pid: trigger.Pid, Tid: trigger.Tid, Comm: trigger.Comm,
		Container: &event.Container{ID: "0123456789abcdef0123", Runtime: "runc", Name: "web"},
		Created:   []event.NsType{event.Net, event.UTS}, Suppressed: 2, Trigger: trigger.Clone(),
		Shared: []event.NsType{event.Pid}}
}

// Alert records follow their events and read back field for field, as
// -o json prints them; Next passes over them.
func TestAlertsFollowTheirEventsAndReadBack(t *testing.T) {
	for _, name := range []string{"a.jsonl", "a.jsonl.zst"} {
		t.Run(name, func(t *testing.T) {
			evs := sampleEvents()
			path := t.TempDir() + "/" + name
			h := testHeader()
			h.Detection = &session.Detection{Rules: []string{"host-namespace-entry", "my-rule"}}
			w, err := session.Create(path, session.Options{Header: h, Now: fixedClock()})
			if err != nil {
				t.Fatal(err)
			}
			var alerts []detect.Alert
			for i := range evs {
				if err := w.WriteEvent(&evs[i]); err != nil {
					t.Fatal(err)
				}
				if i == 2 || i == 7 {
					alerts = append(alerts, sampleAlert(&evs[i]))
					if i == 7 { // a window's closing alert: its count and last trigger
						alerts[1].Count, alerts[1].Last = 3, evs[6].Clone()
					}
					if err := w.WriteAlert(&alerts[len(alerts)-1]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := session.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if d := r.Header().Detection; d == nil || strings.Join(d.Rules, ",") != "host-namespace-entry,my-rule" {
				t.Errorf("header detection = %+v", d)
			}
			var order []string
			n := 0
			for {
				rec, err := r.NextRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Event != nil {
					order = append(order, rec.Event.Kind.String())
					continue
				}
				order = append(order, "alert")
				a, want := rec.Alert, &alerts[n]
				n++
				if a.Rule != want.Rule || a.Severity != "critical" || a.Message != want.Message || a.Pid != want.Pid ||
					a.Comm != want.Comm || *a.Container != *want.Container || len(a.Created) != 2 || a.Created[1] != event.UTS ||
					a.Suppressed != 2 || len(a.Shared) != 1 || a.Shared[0] != event.Pid || !a.Time.Equal(want.Time) {
					t.Errorf("alert %d = %+v, want %+v", n, a, want)
				}
				if g, w := string(a.Trigger.AppendJSON(nil)), string(want.Trigger.AppendJSON(nil)); g != w {
					t.Errorf("trigger %s, want %s", g, w)
				}
				if a.Count != want.Count || (a.Last == nil) != (want.Last == nil) ||
					a.Last != nil && string(a.Last.AppendJSON(nil)) != string(want.Last.AppendJSON(nil)) {
					t.Errorf("alert %d: count %d last %+v, want %d %+v", n, a.Count, a.Last, want.Count, want.Last)
				}
			}
			if got := strings.Join(order, " "); got != "unshare clone setns alert setns lost unshare exec setns alert clone" {
				t.Errorf("records in order: %s", got)
			}
			if len(r.Warnings()) != 0 {
				t.Errorf("warnings: %v", r.Warnings())
			}
			evOnly, _ := readAll(t, path)
			if jsonLines(evOnly) != jsonLines(evs) {
				t.Errorf("Next does not pass over alerts")
			}
		})
	}
}

// The alert line in a session is the very line -o json prints.
func TestTheAlertRecordIsTheJSONStreamsAlertLine(t *testing.T) {
	evs := sampleEvents()
	a := sampleAlert(&evs[2])
	var buf bytes.Buffer
	w, _ := session.NewWriter(&buf, session.Options{Header: testHeader(), Now: fixedClock()})
	if err := w.WriteEvent(&evs[2]); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAlert(&a); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := strings.Split(buf.String(), "\n")
	if want := string(a.AppendJSON(nil)); lines[2] != want {
		t.Errorf("alert line\n%s\nwant\n%s", lines[2], want)
	}
	if !strings.Contains(lines[3], `"alerts":1`) {
		t.Errorf("trailer does not count the alert: %s", lines[3])
	}
}

// A trailer that counts alerts the file does not hold is flagged.
func TestAMissingAlertRecordIsFlagged(t *testing.T) {
	evs := sampleEvents()
	a := sampleAlert(&evs[0])
	var buf bytes.Buffer
	w, _ := session.NewWriter(&buf, session.Options{Header: testHeader(), Now: fixedClock()})
	if err := w.WriteEvent(&evs[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAlert(&a); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	cut := bytes.Join([][]byte{lines[0], lines[1], lines[3]}, nil)
	r, err := session.NewReader(bytes.NewReader(cut), "cut")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drain(r); err != nil {
		t.Fatal(err)
	}
	if w := r.Warnings(); len(w) != 1 || !strings.Contains(w[0].Msg, "trailer counts 1 alerts, the session holds 0") {
		t.Errorf("warnings = %v", w)
	}
}

// A file of many invented kinds gets a bounded number of warnings, and
// every record is still counted.
func TestManyUnknownKindsAreBoundedInWarnings(t *testing.T) {
	good := validSession(t)
	header := firstLine(good)
	data := append([]byte{}, header...)
	for i := range 40 {
		data = append(data, `{"event":"kind`+itoa(i%20)+`"}`+"\n"...)
	}
	data = append(data, good[len(header):]...)
	got, r := readAll(t, writeFile(t, "many.jsonl", data))
	if len(got) != len(sampleEvents()) || r.Skipped() != 40 {
		t.Errorf("read %d events, skipped %d", len(got), r.Skipped())
	}
	w := r.Warnings()
	if len(w) != 17 || w[16].Msg != "more unknown record kinds skipped" {
		t.Errorf("%d warnings: %v", len(w), w)
	}
}

// Seal records are for verify: reading passes them over without a warning.
func TestSealRecordsArePassedOverQuietly(t *testing.T) {
	lines := bytes.SplitAfter(validSession(t), []byte("\n"))
	var data []byte
	for i, l := range lines {
		data = append(data, l...)
		if i == 2 {
			data = append(data, `{"event":"seal","time":"2026-11-29T03:38:18Z","seq":0,"hash":"ab12"}`+"\n"...)
		}
	}
	got, r := readAll(t, writeFile(t, "sealed.jsonl", data))
	if jsonLines(got) != jsonLines(sampleEvents()) {
		t.Fatalf("read\n%s\nwant\n%s", jsonLines(got), jsonLines(sampleEvents()))
	}
	if r.Skipped() != 0 || len(r.Warnings()) != 0 {
		t.Errorf("Skipped() = %d, warnings %v: want none", r.Skipped(), r.Warnings())
	}
}
