package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// The page's data is one JSON object: {"meta":{...},"events":[...]}. Meta
// holds the lanes, groups, alerts, bands and interned strings. Events,
// lanes and alerts are arrays rather than objects, to keep a page of
// 100 000 namespaces small and quick to parse; meta.columns names the
// positions of each kind of row, and the page looks each one up by name,
// so this file alone decides the layout.
//
// dt is nanoseconds since Start; comm, error and flags index meta.strings
// (0 is ""); container indexes meta.containers (-1: none); lane is a failed
// attempt's or a loss marker's lane (-1: none); changes holds the change
// columns of each change one after another (lane and from_lane: -1 when
// none); target is [type, inode] for a failed setns, else 0. Type, kind and
// action are codes into meta.types, meta.kinds and meta.actions.
//
// A lane row's strings (label, name, ctr, creator_comm, creator_syscall)
// index meta.strings too; its kind is a code into meta.lane_kinds; its
// times are ns since Start, -1 when absent; creator_pid is -1 without a
// creator; nsid is a number, or a string past 2^53. An alert row's rule and
// severity index meta.strings.

// eventColumns, changeColumns, laneColumns and alertColumns are the rows'
// layouts, in the order they are written.
var (
	eventColumns  = []string{"dt", "kind", "pid", "tid", "ppid", "uid", "comm", "error", "flags", "container", "lane", "changes", "target", "lost"}
	changeColumns = []string{"type", "action", "from", "to", "ns_id", "lane", "from_lane"}
	laneColumns   = []string{"kind", "type", "ino", "nsid", "label", "name", "host", "ctr", "owner",
		"creator_pid", "creator_comm", "creator_syscall", "created", "gone", "reused", "n"}
	alertColumns = []string{"rule", "severity", "message", "t", "ev"}
)

type dataColumns struct {
	Event  []string `json:"event"`
	Change []string `json:"change"`
	Lane   []string `json:"lane"`
	Alert  []string `json:"alert"`
}

// dataHead is the part of meta that is small whatever the session.
type dataHead struct {
	Start      string          `json:"start"`     // RFC 3339, UTC
	StartDay   string          `json:"start_day"` // 2006-01-02
	StartTOD   int64           `json:"start_tod"` // ns since midnight UTC
	Span       int64           `json:"span"`      // ns from the first event to the last
	Columns    dataColumns     `json:"columns"`
	Types      []string        `json:"types"`
	Kinds      []string        `json:"kinds"`
	Actions    []string        `json:"actions"`
	LaneKinds  []string        `json:"lane_kinds"`
	Containers []dataContainer `json:"containers"`
}

// dataBands are the marks past the events kept: marks holds [lane, dt,
// class, n] for each band, dt the band's start in ns since Start. The page
// gets them shorter (writeBands).
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

// appendData appends the page's data, as WriteHTML writes it.
func (r *Report) appendData(dst []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	err := r.writeData(buf)
	return buf.Bytes(), err
}

// writeData writes the page's data as it goes, never whole in memory,
// escaped so that it can sit inside a <script> element: every string goes
// through encoding/json, which writes no <, > or &, and no U+2028 or
// U+2029, raw; the rest is digits and punctuation.
func (r *Report) writeData(out io.Writer) error {
	w := &dataWriter{w: bufio.NewWriterSize(out, 64<<10), strs: slices.Clip(r.strs)}
	head, err := json.Marshal(r.head())
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	w.raw(`{"meta":`)
	w.raw(string(head[:len(head)-1]))
	w.raw(`,"groups":[`)
	r.writeGroups(w)
	w.raw(`],"lanes":[`)
	for i := range r.Lanes {
		w.comma(i)
		r.writeLane(w, &r.Lanes[i])
	}
	w.raw(`],"alerts":[`)
	for i := range r.Alerts {
		w.comma(i)
		r.writeAlert(w, &r.Alerts[i])
	}
	w.raw(`],"bands":`)
	r.writeBands(w)
	// The strings come after the lanes and alerts, which intern theirs.
	w.raw(`,"strings":[`)
	w.writeStrings()
	w.raw(`]},"events":[`)
	r.writeEvents(w)
	w.raw("]}")
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err != nil {
		return fmt.Errorf("write report: %w", w.err)
	}
	return nil
}

// writeGroups writes each group of lanes: its name and its lanes' indexes.
func (r *Report) writeGroups(w *dataWriter) {
	for i, g := range r.Groups {
		w.comma(i)
		w.raw(`{"name":`)
		w.str(g.Name)
		w.raw(`,"lanes":[`)
		for j, l := range g.Lanes {
			w.comma(j)
			w.int(int64(l))
		}
		w.raw("]}")
	}
}

// writeStrings writes the strings the rows point at, in index order.
func (w *dataWriter) writeStrings() {
	for i, s := range w.strs {
		w.comma(i)
		w.str(s)
	}
}

// writeEvents writes the event rows kept, one at a time.
func (r *Report) writeEvents(w *dataWriter) {
	for i := range r.events {
		w.comma(i)
		w.b = r.appendEvent(w.b[:0], &r.events[i])
		w.flushB()
	}
}

func (r *Report) head() *dataHead {
	m := &dataHead{Start: r.Start.UTC().Format(time.RFC3339Nano), StartDay: r.Start.UTC().Format(time.DateOnly),
		Span: r.End.Sub(r.Start).Nanoseconds(), LaneKinds: laneKindNames[:],
		Columns: dataColumns{Event: eventColumns, Change: changeColumns, Lane: laneColumns, Alert: alertColumns}}
	midnight := r.Start.UTC().Truncate(24 * time.Hour)
	m.StartTOD = r.Start.Sub(midnight).Nanoseconds()
	for t := range event.NsType(event.NumNsTypes) {
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
	return m
}

// writeLane writes one lane row, its fields in laneColumns' order.
func (r *Report) writeLane(w *dataWriter, l *Lane) {
	start := r.Start.UnixNano()
	since := func(t time.Time) int64 {
		if t.IsZero() {
			return -1
		}
		return t.UnixNano() - start
	}
	cpid, ccomm, csys := int64(-1), int32(0), int32(0)
	if c := l.Creator; c != nil {
		cpid, ccomm, csys = int64(c.Pid), w.intern(c.Comm), w.intern(c.Syscall)
	}
	b := append(w.b[:0], '[')
	b = strconv.AppendInt(b, int64(l.Kind), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(l.Type), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(l.Inode), 10)
	b = append(b, ',')
	b = appendID(b, l.NsID)
	for _, v := range [...]int64{int64(w.intern(l.Label)), int64(w.intern(l.Name)), int64(btoi(l.Host)),
		int64(w.intern(l.Container)), int64(l.Owner), cpid, int64(ccomm), int64(csys),
		since(l.Created), since(l.Gone), since(l.Reused), int64(l.Marks.Total())} {
		b = append(b, ',')
		b = strconv.AppendInt(b, v, 10)
	}
	w.b = append(b, ']')
	w.flushB()
}

// writeAlert writes one alert row, its fields in alertColumns' order.
func (r *Report) writeAlert(w *dataWriter, a *Alert) {
	w.raw("[")
	w.int(int64(w.intern(a.Rule)))
	w.raw(",")
	w.int(int64(w.intern(a.Severity)))
	w.raw(",")
	w.str(a.Message)
	w.raw(",")
	w.int(a.Time.Sub(r.Start).Nanoseconds())
	w.raw(",")
	w.int(int64(a.Event))
	w.raw("]")
}

// dataWriter writes the page's data through a buffer, keeping the first
// error, and interns the strings the rows point at.
type dataWriter struct {
	w    *bufio.Writer
	err  error
	b    []byte
	strs []string // r.strs, then the strings interned while writing
	idx  map[string]int32
}

func (w *dataWriter) raw(s string) {
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

func (w *dataWriter) flushB() {
	if w.err == nil {
		_, w.err = w.w.Write(w.b)
	}
}

func (w *dataWriter) int(v int64) {
	w.b = strconv.AppendInt(w.b[:0], v, 10)
	w.flushB()
}

func (w *dataWriter) comma(i int) {
	if i > 0 {
		w.raw(",")
	}
}

// str writes s as a JSON string, HTML escaped.
func (w *dataWriter) str(s string) {
	js, err := json.Marshal(s)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.b = append(w.b[:0], js...)
	w.flushB()
}

// intern returns s's index among the strings, adding it the first time.
func (w *dataWriter) intern(s string) int32 {
	if w.idx == nil {
		w.idx = make(map[string]int32, len(w.strs))
		for i, x := range w.strs {
			if _, ok := w.idx[x]; !ok {
				w.idx[x] = int32(i)
			}
		}
	}
	if i, ok := w.idx[s]; ok {
		return i
	}
	i := int32(len(w.strs))
	w.strs = append(w.strs, s)
	w.idx[s] = i
	return i
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
