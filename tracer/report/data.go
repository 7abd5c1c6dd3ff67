package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// The page's data is one JSON object: {"meta":{...},"events":[...]}. Meta
// holds the lanes, groups, alerts and interned strings; each event is an
// array, to keep 100 000 of them small and quick to parse. meta.columns
// names the positions of an event row and of a change within its changes
// array, and the page looks each one up by name, so this file alone decides
// the layout.
//
// dt is nanoseconds since Start; comm, error and flags index meta.strings
// (0 is ""); container indexes meta.containers (-1: none); lane is a failed
// attempt's or a loss marker's lane (-1: none); changes holds the change
// columns of each change one after another (lane and from_lane: -1 when
// none); target is [type, inode] for a failed setns, else 0. Type, kind and
// action are codes into meta.types, meta.kinds and meta.actions.

// eventColumns and changeColumns are the rows' layout, in the order
// appendEvent writes them.
var (
	eventColumns  = []string{"dt", "kind", "pid", "tid", "ppid", "uid", "comm", "error", "flags", "container", "lane", "changes", "target", "lost"}
	changeColumns = []string{"type", "action", "from", "to", "ns_id", "lane", "from_lane"}
)

type dataColumns struct {
	Event  []string `json:"event"`
	Change []string `json:"change"`
}

type dataMeta struct {
	Start      string          `json:"start"`     // RFC 3339, UTC
	StartDay   string          `json:"start_day"` // 2006-01-02
	StartTOD   int64           `json:"start_tod"` // ns since midnight UTC
	Span       int64           `json:"span"`      // ns from the first event to the last
	Columns    dataColumns     `json:"columns"`
	Strings    []string        `json:"strings"`
	Types      []string        `json:"types"`
	Kinds      []string        `json:"kinds"`
	Actions    []string        `json:"actions"`
	Containers []dataContainer `json:"containers"`
	Lanes      []dataLane      `json:"lanes"`
	Groups     []dataGroup     `json:"groups"`
	Alerts     []dataAlert     `json:"alerts"`
	Bands      dataBands       `json:"bands"`
}

// dataBands are the marks past the events kept: marks holds [lane, dt,
// class, n] for each band, dt the band's start in ns since Start.
type dataBands struct {
	Width  int64   `json:"width"`
	Events int     `json:"events"` // events folded into them
	Marks  []int64 `json:"marks"`
}

type dataContainer struct {
	Label   string `json:"label"`
	ID      string `json:"id,omitempty"`
	Runtime string `json:"runtime,omitempty"`
	Name    string `json:"name,omitempty"`
	Image   string `json:"image,omitempty"`
	Pod     string `json:"pod,omitempty"` // NAMESPACE/NAME
}

type dataLane struct {
	Kind    string       `json:"k"`
	Type    string       `json:"type,omitempty"`
	Inode   uint32       `json:"ino,omitempty"`
	NsID    uint64       `json:"nsid,omitempty,string"`
	Label   string       `json:"label"`
	Name    string       `json:"name,omitempty"`
	Host    bool         `json:"host,omitempty"`
	Ctr     string       `json:"ctr,omitempty"`
	Owner   uint32       `json:"owner,omitempty"`
	Creator *dataCreator `json:"creator,omitempty"`
	Created *int64       `json:"created,omitempty"` // ns since Start; absent: existed before
	Gone    *int64       `json:"gone,omitempty"`
	Reused  *int64       `json:"reused,omitempty"` // its inode went to another namespace: gone by then
	Marks   int          `json:"n"`
}

type dataCreator struct {
	Pid     uint32 `json:"pid"`
	Comm    string `json:"comm"`
	Syscall string `json:"syscall"`
}

type dataGroup struct {
	Name  string `json:"name"`
	Lanes []int  `json:"lanes"`
}

type dataAlert struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	T        int64  `json:"t"`
	Event    int    `json:"ev"`
}

// appendData appends the page's data, escaped so that it can sit inside a
// <script> element: no <, > or &, and no U+2028 or U+2029, appear raw.
func (r *Report) appendData(dst []byte) ([]byte, error) {
	meta, err := json.Marshal(r.meta())
	if err != nil {
		return dst, fmt.Errorf("encode report: %w", err)
	}
	b := make([]byte, 0, len(meta)+64*len(r.events)+32)
	b = append(b, `{"meta":`...)
	b = append(b, meta...)
	b = append(b, `,"events":[`...)
	for i := range r.events {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendEvent(b, &r.events[i])
	}
	b = append(b, "]}"...)
	out := bytes.NewBuffer(dst)
	out.Grow(len(b) + len(b)/64)
	json.HTMLEscape(out, b) // meta is escaped already: this is the one guarantee
	return out.Bytes(), nil
}

func (r *Report) meta() *dataMeta {
	m := &dataMeta{Start: r.Start.UTC().Format(time.RFC3339Nano), StartDay: r.Start.UTC().Format(time.DateOnly),
		Span: r.End.Sub(r.Start).Nanoseconds(), Strings: r.strs,
		Columns: dataColumns{Event: eventColumns, Change: changeColumns}}
	midnight := r.Start.UTC().Truncate(24 * time.Hour)
	m.StartTOD = r.Start.Sub(midnight).Nanoseconds()
	for _, t := range event.AllNsTypes() {
		m.Types = append(m.Types, t.String())
	}
	for k := event.KindUnknown; k <= event.Flood; k++ {
		m.Kinds = append(m.Kinds, k.String())
	}
	for a := event.ActionUnknown; a <= event.ActionDestroy; a++ {
		m.Actions = append(m.Actions, a.String())
	}
	m.Containers = make([]dataContainer, 0, len(r.ctrs))
	for i := range r.ctrs {
		c := &r.ctrs[i]
		dc := dataContainer{Label: c.Label(), ID: c.ID, Runtime: c.Runtime, Name: c.Name, Image: c.Image}
		if c.Pod != nil {
			dc.Pod = c.Pod.Namespace + "/" + c.Pod.Name
		}
		m.Containers = append(m.Containers, dc)
	}
	m.Lanes = make([]dataLane, 0, len(r.Lanes))
	for i := range r.Lanes {
		m.Lanes = append(m.Lanes, r.dataLane(&r.Lanes[i]))
	}
	m.Groups = make([]dataGroup, 0, len(r.Groups))
	for _, g := range r.Groups {
		m.Groups = append(m.Groups, dataGroup(g))
	}
	m.Bands = r.dataBands()
	m.Alerts = make([]dataAlert, 0, len(r.Alerts))
	for _, a := range r.Alerts {
		m.Alerts = append(m.Alerts, dataAlert{Rule: a.Rule, Severity: a.Severity, Message: a.Message,
			T: a.Time.Sub(r.Start).Nanoseconds(), Event: a.Event})
	}
	return m
}

func (r *Report) dataLane(l *Lane) dataLane {
	d := dataLane{Kind: l.Kind.String(), Label: l.Label, Marks: l.Marks.Total()}
	if l.Kind != NamespaceLane {
		return d
	}
	d.Type, d.Inode, d.NsID, d.Name, d.Host, d.Ctr, d.Owner = l.Type.String(), l.Inode, l.NsID, l.Name, l.Host, l.Container, l.Owner
	if c := l.Creator; c != nil {
		d.Creator = &dataCreator{Pid: c.Pid, Comm: c.Comm, Syscall: c.Syscall}
	}
	if !l.Created.IsZero() {
		t := l.Created.Sub(r.Start).Nanoseconds()
		d.Created = &t
	}
	if !l.Gone.IsZero() {
		t := l.Gone.Sub(r.Start).Nanoseconds()
		d.Gone = &t
	}
	if !l.Reused.IsZero() {
		t := l.Reused.Sub(r.Start).Nanoseconds()
		d.Reused = &t
	}
	return d
}

// appendEvent appends one event row, its fields in eventColumns' order.
func (r *Report) appendEvent(b []byte, e *eventRec) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, e.t-r.Start.UnixNano(), 10)
	for _, v := range [...]int64{int64(e.kind), int64(e.pid), int64(e.tid), int64(e.ppid), int64(e.uid),
		int64(e.comm), int64(e.err), int64(e.flags), int64(e.ctr), int64(e.lane)} {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, ",["...)
	for i, c := range r.changes[e.ch0:e.ch1] {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(c.typ), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(c.action), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(c.from), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(c.to), 10)
		b = append(b, ',')
		b = appendID(b, c.nsid)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(c.lane), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(c.fromLane), 10)
	}
	b = append(b, "],"...)
	if e.hasTarget {
		b = append(b, '[')
		b = strconv.AppendUint(b, uint64(e.target.Type), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(e.target.Inode), 10)
		b = append(b, ']')
	} else {
		b = append(b, '0')
	}
	b = append(b, ',')
	b = strconv.AppendUint(b, e.lost, 10)
	return append(b, ']')
}

// appendID writes a 64-bit id as a number where JavaScript holds it
// exactly, and as a string beyond.
func appendID(b []byte, id uint64) []byte {
	if id < 1<<53 {
		return strconv.AppendUint(b, id, 10)
	}
	b = append(b, '"')
	b = strconv.AppendUint(b, id, 10)
	return append(b, '"')
}
