package render

import (
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestFloodRecordIsOneSanitizedLine(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 38, 18, 123456789, time.UTC)
	for _, c := range []struct {
		ev   event.Event
		want string
	}{
		{event.Event{Time: at, Kind: event.Flood, UID: 65534, CgroupID: 3401, Comm: "flood", Counted: event.Unshare, Count: 48211},
			`03:38:18.123456  FLOOD uid 65534 cgroup 3401 "flood" 48211 unshare counted, not shown (past its share)`},
		{event.Event{Time: at, Kind: event.Flood, Comm: "x\x1b]0;y\x07\n", Counted: event.Setns, Errno: syscall.EPERM, Count: 3},
			`03:38:18.123456  FLOOD uid 0 "x\x1b]0;y\x07\n" 3 setns EPERM counted, not shown (past its share)`},
	} {
		if got := string(AppendText(nil, &c.ev)); got != c.want {
			t.Errorf("\n got %q\nwant %q", got, c.want)
		}
	}
}
