package render

import (
	"strconv"

	"github.com/nstrace/nstrace/tracer/event"
)

// appendFloodText appends the rest of a flood record's line:
//
//	FLOOD uid 65534 cgroup 1234 "flood" 48211 unshare EPERM counted, not shown
func appendFloodText(b []byte, ev *event.Event) []byte {
	b = append(b, "  FLOOD uid "...)
	b = strconv.AppendUint(b, uint64(ev.UID), 10)
	if ev.CgroupID != 0 {
		b = append(b, " cgroup "...)
		b = strconv.AppendUint(b, ev.CgroupID, 10)
	}
	b = append(b, ' ', '"')
	b = AppendSanitized(b, ev.Comm)
	b = append(b, '"', ' ')
	b = strconv.AppendUint(b, ev.Count, 10)
	b = append(b, ' ')
	b = append(b, ev.Counted.String()...)
	if ev.Errno != 0 {
		b = append(b, ' ')
		b = append(b, event.ErrnoName(ev.Errno)...)
	}
	return append(b, " counted, not shown (past its share)"...)
}
