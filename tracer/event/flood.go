package event

import (
	"fmt"
	"syscall"

	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// appendFloodJSON writes a flood record:
// {"time":…,"event":"flood","uid":…,"cgroup_id":…,"comm":…,"kind":"unshare","error":"EPERM","container":{…},"count":N}
// (cgroup_id, error and container only when set). The time, event and their
// separators are already in b.
func (e *Event) appendFloodJSON(b []byte, nums *Numbers) []byte {
	b = appendUintField(b, nums, "uid", uint64(e.UID))
	if e.CgroupID != 0 {
		b = appendUintField(b, nums, "cgroup_id", e.CgroupID)
	}
	b = append(b, `,"comm":`...)
	b = encode.AppendJSONString(b, e.Comm)
	b = append(b, `,"kind":"`...)
	b = append(b, e.Counted.String()...)
	b = append(b, '"')
	if e.Errno != 0 {
		b = append(b, `,"error":"`...)
		b = append(b, ErrnoName(e.Errno)...)
		b = append(b, '"')
	}
	if e.Container != nil {
		b = append(b, `,"container":`...)
		b = e.Container.AppendJSON(b)
	}
	b = appendUintField(b, nums, "count", e.Count)
	return append(b, '}')
}

// floodFromWire finishes decoding a flood record; e holds the common fields.
func (e *Event) floodFromWire(w *wire) error {
	counted, ok := ParseKind(w.Kind)
	if !ok || counted == Lost || counted == Flood {
		return fmt.Errorf("flood record: unknown kind %q", w.Kind)
	}
	e.Counted, e.Count, e.Lost = counted, w.Count, 0
	e.Errno = syscall.Errno(0)
	if w.Error != "" {
		errno, ok := parseErrno(w.Error)
		if !ok {
			return fmt.Errorf("unknown error %q", w.Error)
		}
		e.Errno = errno
	}
	return nil
}
