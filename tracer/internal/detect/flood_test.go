package detect

import (
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// A flood record raises one warning per source (uid and cgroup) per
// window; records in between are counted into the next alert.
func TestFloodAlertsOncePerSourcePerWindow(t *testing.T) {
	d := New(nil)
	t0 := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	flood := func(at time.Duration, uid uint32, cgroup uint64, n uint64) *event.Event {
		return &event.Event{Time: t0.Add(at), Kind: event.Flood, UID: uid, CgroupID: cgroup, Comm: "flood",
			Counted: event.Unshare, Count: n}
	}
	type want struct {
		rule       string
		message    string
		suppressed uint64
	}
	steps := []struct {
		ev   *event.Event
		want []want
	}{
		{flood(0, 65534, 3401, 1000), []want{{RuleFlood,
			`uid 65534 in cgroup 3401 ("flood") flooded: 1000 unshare events past its share were counted, not shown`, 0}}},
		{flood(time.Second, 65534, 3401, 900), nil},
		{flood(2*time.Second, 65534, 3401, 800), nil},
		{flood(2*time.Second, 0, 3500, 5), []want{{RuleFlood,
			`uid 0 in cgroup 3500 ("flood") flooded: 5 unshare events past its share were counted, not shown`, 0}}},
		{flood(61*time.Second, 65534, 3401, 700), []want{{RuleFlood,
			`uid 65534 in cgroup 3401 ("flood") flooded: 700 unshare events past its share were counted, not shown`, 2}}},
	}
	for i, s := range steps {
		got := d.Check(s.ev)
		if len(got) != len(s.want) {
			t.Fatalf("step %d: %d alerts %+v, want %d", i, len(got), got, len(s.want))
		}
		for j, w := range s.want {
			a := got[j]
			if a.Rule != w.rule || a.Severity != Warning || a.Message != w.message || a.Suppressed != w.suppressed ||
				a.Trigger == nil || a.Trigger.Kind != event.Flood {
				t.Errorf("step %d: alert %+v, want %+v", i, a, w)
			}
		}
	}
}
