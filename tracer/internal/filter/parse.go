package filter

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// ParseTypes turns namespace type names (net, uts, ...) into types.
func ParseTypes(names []string) ([]event.NsType, error) {
	var types []event.NsType
	for _, n := range names {
		t, ok := event.ParseNsType(n)
		if !ok {
			return nil, fmt.Errorf("unknown namespace type %q (want one of cgroup ipc mnt net pid pid_for_children time time_for_children user uts)", n)
		}
		types = append(types, t)
	}
	return types, nil
}

// ParseEvents turns event names (clone, unshare, setns, exec) into kinds.
func ParseEvents(names []string) ([]event.Kind, error) {
	var kinds []event.Kind
	for _, n := range names {
		k, ok := event.ParseKind(n)
		if !ok || k == event.Lost {
			return nil, fmt.Errorf("unknown event %q (want one of clone unshare setns exec)", n)
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// ParseNamespaces reads namespace inodes or ns_ids, in decimal, or as
// `readlink /proc/PID/ns/TYPE` prints them (net:[4026531833]).
func ParseNamespaces(vals []string) ([]uint64, error) {
	var ns []uint64
	for _, v := range vals {
		s := v
		if i := strings.IndexByte(s, '['); i >= 0 && strings.HasSuffix(s, "]") {
			s = s[i+1 : len(s)-1]
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("namespace %q: want an inode number such as 4026531833", v)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// Moment is a --since or --until value before the session start is known:
// an absolute time, a time of day, or an offset from the start.
type Moment struct {
	abs       time.Time
	offset    time.Duration
	timeOfDay time.Duration // since midnight UTC; -1 when not a time of day
}

// timeLayouts are the absolute forms accepted, tried in order.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"}

// ParseMoment reads an RFC 3339 time (2026-11-29T03:38:18Z; no zone means
// UTC), a time of day in UTC as the text output prints it (03:38:18.123456),
// or a duration since the session started (90s, 5m, 1h30m).
func ParseMoment(s string) (Moment, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return Moment{}, fmt.Errorf("time %q: a duration counts from the start of the session and cannot be negative", s)
		}
		return Moment{offset: d, timeOfDay: -1}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return Moment{abs: t, timeOfDay: -1}, nil
		}
	}
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			h, min, sec := t.Clock()
			tod := time.Duration(h)*time.Hour + time.Duration(min)*time.Minute +
				time.Duration(sec)*time.Second + time.Duration(t.Nanosecond())
			return Moment{timeOfDay: tod}, nil
		}
	}
	return Moment{}, fmt.Errorf("time %q: want an RFC 3339 time (2026-11-29T03:38:18Z), a UTC time of day (03:38:18) or a duration since the start (5m)", s)
}

// At places m relative to a session that started at start. A time of day
// falls on the start's UTC date, or the next day when that is more than 12
// hours before the start (a session that ran past midnight).
func (m Moment) At(start time.Time) time.Time {
	switch {
	case !m.abs.IsZero():
		return m.abs
	case m.timeOfDay >= 0:
		day := start.UTC().Truncate(24 * time.Hour)
		t := day.Add(m.timeOfDay)
		if t.Before(start.Add(-12 * time.Hour)) {
			t = t.Add(24 * time.Hour)
		}
		return t
	default:
		return start.Add(m.offset)
	}
}
