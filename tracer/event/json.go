package event

import (
	"encoding/json"
	"fmt"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// TimeLayout is the time format of the JSON form: RFC 3339 in UTC with
// fixed nanoseconds, so lines align.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AppendJSON appends e as one JSON object (no newline) with the fields that
// README.md ("JSON schema") describes, some left out when empty. It is
// written by hand so that it allocates nothing: the hot path calls it for
// every event.
func (e *Event) AppendJSON(b []byte) []byte { return e.AppendJSONWith(b, nil) }

// AppendJSONWith is AppendJSON, taking the digits of numbers it wrote
// before from nums: an encoder writing many events keeps one.
func (e *Event) AppendJSONWith(b []byte, nums *Numbers) []byte {
	b = append(b, `{"time":"`...)
	b = nums.appendTime(b, e.Time)
	b = append(b, `","event":"`...)
	b = append(b, e.Kind.String()...)
	b = append(b, '"')
	if e.Kind == Lost {
		b = append(b, `,"count":`...)
		b = nums.Append(b, e.Lost)
		if e.Cause != "" {
			b = append(b, `,"cause":`...)
			b = encode.AppendJSONString(b, e.Cause)
		}
		return append(b, '}')
	}
	if e.Kind == Flood {
		return e.appendFloodJSON(b, nums)
	}
	b = nums.appendHead(b, e)
	if !e.Failed() {
		b = append(b, `,"changes":[`...)
		for i := range e.Changes {
			if i > 0 {
				b = append(b, ',')
			}
			b = nums.appendChange(b, &e.Changes[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendHeadJSON writes the fields between the kind and the changes: who
// made the call, what it asked for and the process behind it.
func (e *Event) appendHeadJSON(b []byte, nums *Numbers) []byte {
	b = appendUintField(b, nums, "pid", uint64(e.Pid))
	b = appendUintField(b, nums, "tid", uint64(e.Tid))
	b = appendUintField(b, nums, "ppid", uint64(e.Ppid))
	b = append(b, `,"comm":`...)
	b = encode.AppendJSONString(b, e.Comm)
	b = appendUintField(b, nums, "uid", uint64(e.UID))
	if e.CgroupID != 0 {
		b = appendUintField(b, nums, "cgroup_id", e.CgroupID)
	}
	if e.UserNS != 0 {
		b = appendUintField(b, nums, "userns", uint64(e.UserNS))
	}
	if e.Kind != Destroy && e.Kind != Exec {
		b = append(b, `,"flags":[`...)
		first := true
		for _, f := range cloneFlagNames {
			if e.Flags&f.bit == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, f.name...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	if e.Errno != 0 {
		b = append(b, `,"error":"`...)
		b = append(b, ErrnoName(e.Errno)...)
		b = append(b, '"')
	}
	if e.Target != nil {
		b = append(b, `,"target":{"type":"`...)
		b = append(b, e.Target.Type.String()...)
		b = append(b, `","inode":`...)
		b = nums.Append(b, uint64(e.Target.Inode))
		b = append(b, '}')
	}
	if e.Container != nil {
		b = append(b, `,"container":`...)
		b = e.Container.AppendJSON(b)
	}
	return e.appendProcessJSON(b, nums)
}

func (c *Change) appendJSON(b []byte, nums *Numbers) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, c.Type.String()...)
	b = append(b, `","action":"`...)
	b = append(b, c.Action.String()...)
	b = append(b, '"')
	if c.Action != ActionDestroy {
		b = appendUintField(b, nums, "from", uint64(c.From))
	}
	b = appendUintField(b, nums, "to", uint64(c.To))
	if c.NsID != 0 {
		b = appendUintField(b, nums, "ns_id", c.NsID)
	}
	if c.Name != "" {
		b = append(b, `,"name":`...)
		b = encode.AppendJSONString(b, c.Name)
	}
	if c.Host {
		b = append(b, `,"host":true`...)
	}
	if c.Owner != 0 {
		b = appendUintField(b, nums, "owner", uint64(c.Owner))
	}
	if c.Container != nil {
		b = append(b, `,"container":`...)
		b = c.Container.AppendJSON(b)
	}
	return append(b, '}')
}

// AppendJSON appends c as one JSON object, leaving out empty fields, as
// events and alerts carry it. It allocates nothing.
func (c *Container) AppendJSON(b []byte) []byte {
	b, sep := appendStringFields(append(b, '{'), []stringField{{"id", c.ID}, {"runtime", c.Runtime}, {"name", c.Name}, {"image", c.Image}})
	if c.Pod != nil {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"pod":`...)
		b = c.Pod.appendJSON(b)
	}
	return append(b, '}')
}

// stringField is one string member of a JSON object.
type stringField struct{ k, v string }

// appendStringFields appends the fields whose value is not empty as
// comma-separated "k":"v" members, and reports whether it wrote any.
func appendStringFields(b []byte, fields []stringField) (_ []byte, wrote bool) {
	for _, f := range fields {
		if f.v == "" {
			continue
		}
		if wrote {
			b = append(b, ',')
		}
		wrote = true
		b = append(b, '"')
		b = append(b, f.k...)
		b = append(b, `":`...)
		b = encode.AppendJSONString(b, f.v)
	}
	return b, wrote
}

func appendUintField(b []byte, nums *Numbers, name string, v uint64) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return nums.Append(b, v)
}

// wire is the JSON shape of an Event, for decoding.
type wire struct {
	Time     *time.Time `json:"time"`
	Event    string     `json:"event"`
	Kind     string     `json:"kind"`
	Count    uint64     `json:"count"`
	Cause    string     `json:"cause"`
	Pid      uint32     `json:"pid"`
	Tid      uint32     `json:"tid"`
	Ppid     uint32     `json:"ppid"`
	Comm     string     `json:"comm"`
	UID      uint32     `json:"uid"`
	CgroupID uint64     `json:"cgroup_id"`
	UserNS   uint32     `json:"userns"`
	Flags    []string   `json:"flags"`
	Error    string     `json:"error"`
	Target   *struct {
		Type  string `json:"type"`
		Inode uint32 `json:"inode"`
	} `json:"target"`
	Container *Container `json:"container"`
	Changes   []struct {
		Type      string     `json:"type"`
		Action    string     `json:"action"`
		From      uint32     `json:"from"`
		To        uint32     `json:"to"`
		NsID      uint64     `json:"ns_id"`
		Name      string     `json:"name"`
		Host      bool       `json:"host"`
		Owner     uint32     `json:"owner"`
		Container *Container `json:"container"`
	} `json:"changes"`

	// The process fields (process.go).
	Auid      *uint32  `json:"auid"`
	Caps      []string `json:"caps"`
	Exe       *string  `json:"exe"`
	ExeArg    string   `json:"exe_arg"`
	Args      []string `json:"args"`
	Ancestors []struct {
		Pid  uint32 `json:"pid"`
		Comm string `json:"comm"`
		Exe  string `json:"exe"`
	} `json:"ancestors"`
	Truncated     []string `json:"truncated"`
	ContainerRole string   `json:"container_role"`
}

// UnmarshalJSON decodes one event written by AppendJSON. Unknown fields are
// ignored (the schema only grows); unknown names are errors.
func (e *Event) UnmarshalJSON(data []byte) error {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	kind, ok := ParseKind(w.Event)
	if !ok {
		return fmt.Errorf("unknown event %q", w.Event)
	}
	if w.Time == nil {
		return fmt.Errorf("%s event without time", w.Event)
	}
	*e = Event{Time: *w.Time, Kind: kind, Pid: w.Pid, Tid: w.Tid, Ppid: w.Ppid, Comm: w.Comm,
		UID: w.UID, CgroupID: w.CgroupID, UserNS: w.UserNS, Lost: w.Count, Cause: w.Cause, Container: w.Container}
	if kind == Flood {
		return e.floodFromWire(&w)
	}
	for _, f := range w.Flags {
		bit, ok := parseFlagName(f)
		if !ok {
			return fmt.Errorf("unknown flag %q", f)
		}
		e.Flags |= bit
	}
	if w.Error != "" {
		errno, ok := parseErrno(w.Error)
		if !ok {
			return fmt.Errorf("unknown error %q", w.Error)
		}
		e.Errno = errno
	} else {
		e.Errno = syscall.Errno(0)
	}
	if w.Target != nil {
		t, ok := ParseNsType(w.Target.Type)
		if !ok {
			return fmt.Errorf("unknown namespace type %q", w.Target.Type)
		}
		e.Target = &Target{Type: t, Inode: w.Target.Inode}
	}
	if err := e.processFromWire(&w); err != nil {
		return err
	}
	for _, c := range w.Changes {
		t, ok := ParseNsType(c.Type)
		if !ok {
			return fmt.Errorf("unknown namespace type %q", c.Type)
		}
		a, ok := ParseAction(c.Action)
		if !ok {
			return fmt.Errorf("unknown action %q", c.Action)
		}
		e.Changes = append(e.Changes, Change{Type: t, Action: a, From: c.From, To: c.To, NsID: c.NsID,
			Name: c.Name, Host: c.Host, Owner: c.Owner, Container: c.Container})
	}
	return nil
}
