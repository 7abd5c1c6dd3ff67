package export

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
)

// memoRecords is a run of records as a sender reads them: one thread
// moving back and forth, then each field the attributes are read from
// changing alone (so a field missing from attrSource shows), fields that
// come and go, other kinds of records, spacing the encoder never writes,
// and records that do not decode.
func memoRecords() []spoolRecord {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ctr := &event.Container{ID: "3f2a9c8e71d04b6f", Runtime: "docker", Name: "web"}
	base := event.Event{Time: t0, Kind: event.Setns, Pid: 1000, Tid: 1000, Ppid: 1, Comm: "nsbench",
		Flags: syscall.CLONE_NEWUTS, CgroupID: 4242, UserNS: 4026531837, HasCreds: true, Auid: event.NoAuid, Caps: 1<<41 - 1,
		Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026531838, To: 4026532177}},
		Process: &event.Process{Exe: "/usr/local/bin/nsbench", Args: []string{"nsbench", "-only", "export"},
			Ancestors: []event.Ancestor{{Pid: 900, Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 1, Comm: "systemd"}}}}
	var recs []spoolRecord
	add := func(kind recordKind, json []byte) {
		recs = append(recs, spoolRecord{seq: uint64(len(recs) + 1), observed: t0.UnixNano() + int64(len(recs)), kind: kind, json: json})
	}
	ev := func(change func(e *event.Event)) {
		e := base
		e.Time = t0.Add(time.Duration(len(recs)) * time.Microsecond)
		e.Changes = []event.Change{base.Changes[0]}
		if len(recs)%2 == 1 {
			e.Changes[0].From, e.Changes[0].To = e.Changes[0].To, e.Changes[0].From
		}
		if change != nil {
			change(&e)
		}
		add(kindEvent, e.AppendJSON(nil))
	}
	for range 6 {
		ev(nil)
	}
	// Each change alone after the unchanged record, then again.
	for _, change := range []func(e *event.Event){
		func(e *event.Event) { e.Tid = 1001 },
		func(e *event.Event) { e.Ppid = 2 },
		func(e *event.Event) { e.Comm = "nsbench2" },
		func(e *event.Event) { e.UID = 1000 },
		func(e *event.Event) { e.CgroupID = 1 },
		func(e *event.Event) { e.Errno = syscall.EPERM },
		func(e *event.Event) { e.Container = ctr },
		func(e *event.Event) { e.Caps = 1 << 21 },
		func(e *event.Event) { e.Process = nil },
		func(e *event.Event) { e.Pid = 0 },
		func(e *event.Event) { e.Kind = event.Unshare },
	} {
		ev(nil)
		ev(change)
		ev(change)
	}
	ev(func(e *event.Event) { e.Container = ctr })
	ev(func(e *event.Event) { e.Container = &event.Container{ID: ctr.ID, Runtime: "docker", Name: "api"} })
	add(kindEvent, (&event.Event{Time: t0, Kind: event.Lost, Lost: 12}).AppendJSON(nil))
	add(kindEvent, (&event.Event{Time: t0, Kind: event.Lost, Lost: 12}).AppendJSON(nil))
	add(kindEvent, (&event.Event{Time: t0, Kind: event.Lost, Lost: 3}).AppendJSON(nil))
	add(kindEvent, (&event.Event{Time: t0, Kind: event.Lost, Lost: 3, Cause: event.LostShutdown}).AppendJSON(nil))
	add(kindEvent, (&event.Event{Time: t0, Kind: event.Lost, Lost: 3, Cause: LostExport}).AppendJSON(nil))
	flood := &event.Event{Time: t0, Kind: event.Flood, UID: 1000, CgroupID: 4242, Comm: "fork-bomb",
		Counted: event.Unshare, Container: ctr, Count: 90000}
	add(kindEvent, flood.AppendJSON(nil))
	flood.Count++
	add(kindEvent, flood.AppendJSON(nil))
	alert := &detect.Alert{Time: t0, Rule: "cross-container-join", Severity: detect.Critical, Message: "joined",
		Pid: 77, Tid: 78, Comm: "nsenter", Container: ctr, Joined: ctr}
	add(kindAlert, alert.AppendJSON(nil))
	add(kindAlert, alert.AppendJSON(nil))
	alert.Severity = detect.Notice
	add(kindAlert, alert.AppendJSON(nil))
	alert.Rule = "host-namespace-join"
	add(kindAlert, alert.AppendJSON(nil))
	// The same JSON as an event and as an alert: the kind decides.
	add(kindEvent, alert.AppendJSON(nil))
	add(kindSummary, []byte(`{"time":"2026-11-29T12:00:06.000000000Z","event":"summary","events":5,"lost":0}`))
	add(kindSummary, []byte(`{"time":"2026-11-29T12:00:07.000000000Z","event":"summary","events":5,"lost":0}`))
	for _, s := range []string{
		`{"time":"2026-11-29T12:00:06Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"],"pid":6}`,
		`{"time":"2026-11-29T12:00:07Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"],"pid":6}`,
		`{"time":"2026-11-29T12:00:07Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"],"pid":7}`,
		`{"time":"2026-11-29T12:00:08Z", "event":"setns" ,"pid":5,  "comm":"a","caps":["X","Y"] }`,
		`{"time":"2026-11-29T12:00:09Z", "event":"setns" ,"pid":5,  "comm":"a","caps":["X","Y"] }`,
		`{"time":"2026-11-29T12:00:09Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"]}`,
		`{"time":"2026-11-29T12:00:09Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"]`,
		`{"time":"2026-11-29T12:00:09Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"]}x`,
		`{"time":"2026-11-29T12:00:10Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"]}`,
		`{"time":"2026-11-29T12:00:10Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"],"uid":0}`,
		`{"time":"2026-11-29T12:00:11Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"],"uid":0}`,
		`{"time":"2026-11-29T12:00:11Z","event":"setns","pid":5,"comm":"a","caps":["X","Y"],"uid":0}`,
		`{"time":"2026-11-29T12:00:11Z","event":"setns","pid":5,"comm":"a"}`,
		`{}`, `{"time":"2026-11-29T12:00:11Z","event":"setns","pid":5,"comm":"a"}`,
		`{}`, `{}`, `{"time":"2026-11-29T12:00:12Z"}`, `{"time":"2026-11-29T12:00:13Z"}`, `[1]`,
		`{"time":"2026-11-29T12:00:11Z","event":"setns","pid":5,"comm":"a"}`,
	} {
		add(kindEvent, []byte(s))
	}
	return recs
}

// TestMemoSameRecords: an encoder that remembers the last records writes
// each record of a run the same, byte for byte, as an encoder that has
// seen none, or fails it the same.
func TestMemoSameRecords(t *testing.T) {
	var c recordEncoder
	same := 0
	for _, rec := range memoRecords() {
		got, err := c.appendRecord([]byte("prefix"), rec, "sess")
		var fresh recordEncoder
		want, werr := fresh.appendRecord([]byte("prefix"), rec, "sess")
		if (err == nil) != (werr == nil) {
			t.Fatalf("record %d %s: error %v with the memo, %v without", rec.seq, rec.json, err, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d %s:\n got %x\nwant %x", rec.seq, rec.json, got, want)
		}
		if err == nil && c.w.sameAttrs && c.tailOK {
			same++
		}
	}
	// Records whose attribute fields were all copied from the last
	// record's, and whose attributes were the last record's: both levels
	// of the memo were compared.
	if same < 10 {
		t.Fatalf("%d records with the last one's attributes; the memo was not used", same)
	}
}

// FuzzMemoRecords: whatever came before, a record encodes as it does
// alone.
func FuzzMemoRecords(f *testing.F) {
	recs := memoRecords()
	for i := 1; i < len(recs); i++ {
		f.Add(recs[i-1].json, recs[i].json, recs[i].json, uint8(recs[i].kind))
	}
	f.Fuzz(func(t *testing.T, a, b, c []byte, kind uint8) {
		k := recordKind(kind%3 + 1)
		var enc recordEncoder
		for _, rec := range [][]byte{a, b, c} {
			r := spoolRecord{seq: 7, kind: k, json: rec}
			got, err := enc.appendRecord(nil, r, "s")
			var fresh recordEncoder
			want, werr := fresh.appendRecord(nil, r, "s")
			if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("%q after %q, %q: %x, %v with the memo; want %x, %v", rec, a, b, got, err, want, werr)
			}
		}
	})
}
