package event

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFloodRecordsRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 38, 18, 123456789, time.UTC)
	for _, c := range []struct {
		ev   Event
		json string
	}{
		{Event{Time: at, Kind: Flood, UID: 65534, CgroupID: 3401, Comm: "flood", Counted: Unshare, Count: 1400698},
			`{"time":"2026-11-29T03:38:18.123456789Z","event":"flood","uid":65534,"cgroup_id":3401,"comm":"flood","kind":"unshare","count":1400698}`},
		{Event{Time: at, Kind: Flood, Comm: "a\x1b\"b", Counted: Setns, Errno: syscall.EPERM, Count: 7,
			Container: &Container{ID: "c1", Runtime: "runc"}},
			`{"time":"2026-11-29T03:38:18.123456789Z","event":"flood","uid":0,"comm":"a\u001b\"b","kind":"setns","error":"EPERM","container":{"id":"c1","runtime":"runc"},"count":7}`},
	} {
		got := string(c.ev.AppendJSON(nil))
		if got != c.json {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, c.json)
		}
		var back Event
		if err := back.UnmarshalJSON([]byte(got)); err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		if back.Kind != Flood || back.UID != c.ev.UID || back.CgroupID != c.ev.CgroupID || back.Comm != c.ev.Comm ||
			back.Counted != c.ev.Counted || back.Errno != c.ev.Errno || back.Count != c.ev.Count || back.Lost != 0 ||
			!back.Time.Equal(at) || (back.Container == nil) != (c.ev.Container == nil) ||
			back.Container != nil && *back.Container != *c.ev.Container {
			t.Errorf("decoded %+v, want %+v", back, c.ev)
		}
	}
}

func TestFloodRecordsWithAnUnknownKindAreRefused(t *testing.T) {
	for _, kind := range []string{"", "fork", "lost", "flood"} {
		line := `{"time":"2026-11-29T03:38:18.123456789Z","event":"flood","uid":1,"comm":"x","kind":"` + kind + `","count":1}`
		var ev Event
		err := ev.UnmarshalJSON([]byte(line))
		if err == nil || !strings.Contains(err.Error(), "flood record: unknown kind") {
			t.Errorf("kind %q: %v", kind, err)
		}
	}
}
