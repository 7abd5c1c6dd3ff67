package inventory

import (
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestIsInitial(t *testing.T) {
	for _, c := range []struct {
		t    event.NsType
		ino  uint32
		want bool
	}{
		{event.UTS, 0xEFFFFFFE, true},
		{event.PidForChildren, 0xEFFFFFFC, true}, // read as pid
		{event.TimeForChildren, 0xEFFFFFFA, true},
		{event.Mnt, 0xEFFFFFF8, true},
		{event.UTS, 0xEFFFFFFF, false}, // ipc's
		{event.UTS, 0xF0000000, false},
		{event.PidForChildren, 0, false},
		{event.NsType(event.NumNsTypes), 0, false},
		{event.NsType(event.NumNsTypes), 0xEFFFFFFE, false},
	} {
		if got := IsInitial(c.t, c.ino); got != c.want {
			t.Errorf("IsInitial(%v, %#x) = %v, want %v", c.t, c.ino, got, c.want)
		}
	}
}
