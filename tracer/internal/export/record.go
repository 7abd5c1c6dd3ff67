package export

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/nstrace/nstrace/tracer/internal/detect"
)

// recordKind says what a spooled record is; the body is its JSON object.
type recordKind uint8

const (
	kindEvent recordKind = iota + 1
	kindAlert
	kindSummary
	kindBlock // records packed together: a spool frame, never sent as such
)

// Attribute keys. OpenTelemetry semantic conventions where one exists,
// nstrace.* for the rest.
const (
	AttrRecordID      = "nstrace.record.id"
	AttrEvent         = "nstrace.event"
	AttrPid           = "process.pid"
	AttrParentPid     = "process.parent_pid"
	AttrCommand       = "process.command"
	AttrThreadID      = "thread.id"
	AttrUserID        = "user.id"
	AttrContainerID   = "container.id"
	AttrContainerName = "container.name"
	AttrRuntime       = "container.runtime.name"
	AttrPodName       = "k8s.pod.name"
	AttrPodNamespace  = "k8s.namespace.name"
	AttrCgroupID      = "nstrace.cgroup.id"
	AttrError         = "nstrace.error"
	AttrLostCount     = "nstrace.lost.count"
	AttrLostCause     = "nstrace.lost.cause"
	AttrRule          = "nstrace.alert.rule"
	AttrFloodCount    = "nstrace.flood.count"
	AttrFloodKind     = "nstrace.flood.kind"
)

// EventNamePrefix starts every record's EventName: nstrace.namespace.unshare,
// nstrace.alert, nstrace.lost, nstrace.flood, nstrace.summary.
const EventNamePrefix = "nstrace."

// OpenTelemetry severity numbers (the log data model's SeverityNumber).
const (
	sevInfo  = 9
	sevInfo2 = 10
	sevWarn  = 13
	sevError = 17
)

// severity maps an alert's severity onto OpenTelemetry's scale.
func severity(s detect.Severity) uint64 {
	switch s {
	case detect.Info:
		return sevInfo
	case detect.Notice:
		return sevInfo2
	case detect.Warning:
		return sevWarn
	case detect.Critical:
		return sevError
	}
	return 0
}

// errBadBody marks a spooled record whose JSON does not decode.
var errBadBody = errors.New("spooled record is not a JSON object")

// recordEncoder writes spooled records as OTLP LogRecords. The body is
// the record's JSON object as structured values; the attributes are read
// from it, so the JSON encoder stays the one source of the schema.
type recordEncoder struct {
	w, sub, pod jsonWire // the record, its container, the container's pod
	scratch     []byte   // where the container's fields are parsed to
	memo        valueMemo

	// The last record's event name and what follows its id (attributes,
	// severity), for a record whose attribute fields are the same.
	name, tail []byte
	tailKind   recordKind
	tailOK     bool
}

// attrSource says whether appendRecord reads the top-level field key for
// the event name, the attributes or the severity: a record whose fields of
// these are all as in the last record has the last record's.
func attrSource(key []byte) bool {
	switch string(key) {
	case "event", "pid", "ppid", "tid", "comm", "uid", "cgroup_id", "error", "container",
		"rule", "severity", "count", "cause", "kind":
		return true
	}
	return false
}

// appendRecord appends rec as one ScopeLogs.log_records field to out; on
// a record that does not decode, out is returned as it was.
func (c *recordEncoder) appendRecord(out []byte, rec spoolRecord, session string) ([]byte, error) {
	was := len(out)
	out, lr := openWide(out, fSLRecords)
	// The body first, so its fields are known for the attributes: a
	// protobuf reader takes fields in any order.
	out, bm := openWide(out, fLRBody)
	c.w = jsonWire{b: rec.json, top: c.w.top[:0], memo: &c.memo}
	out, ok := c.w.value(out, 0)
	c.w.space()
	if !ok || c.w.i != len(rec.json) || rec.json[0] != '{' {
		c.tailOK = false
		return out[:was], fmt.Errorf("record %d: %w", rec.seq, errBadBody)
	}
	out = closeWide(out, bm)
	w := &c.w

	if t := w.field("time"); len(t) > 2 && t[0] == '"' {
		if ts, ok := parseTime(unquote(t)); ok {
			out = appendFixed64Field(out, fLRTime, uint64(ts.UnixNano()))
		}
	}
	out = appendFixed64Field(out, fLRObserved, uint64(rec.observed))
	if c.tailOK && w.sameAttrs && rec.kind == c.tailKind {
		out = append(out, c.name...)
		out = c.stringAttr(out, AttrRecordID, nil, session, rec.seq)
		out = append(out, c.tail...)
		return closeWide(out, lr), nil
	}
	ev := unquote(w.field("event"))
	nameStart := len(out)
	out, m := openField(out, fLREventName)
	out = append(out, EventNamePrefix...)
	switch string(ev) {
	case "alert", "lost", "flood", "summary":
	default:
		out = append(out, "namespace."...)
	}
	out = append(out, ev...)
	out = closeField(out, m)
	sev, sevText := uint64(sevInfo), []byte("info")

	c.name = append(c.name[:0], out[nameStart:]...)
	out = c.stringAttr(out, AttrRecordID, nil, session, rec.seq)
	tailStart := len(out)
	out = c.rawStringAttr(out, AttrEvent, w.field("event"))
	// A destroyed namespace has no process (pid 0): no process attributes.
	if pid := w.field("pid"); pid != nil && string(pid) != "0" {
		out = intAttr(out, AttrPid, pid)
		out = intAttr(out, AttrParentPid, w.field("ppid"))
		out = intAttr(out, AttrThreadID, w.field("tid"))
		out = c.rawStringAttr(out, AttrCommand, w.field("comm"))
		out = uidAttr(out, w.field("uid"))
	}
	out = intAttr(out, AttrCgroupID, w.field("cgroup_id"))
	out = c.rawStringAttr(out, AttrError, w.field("error"))
	if ctr := w.field("container"); len(ctr) > 0 && ctr[0] == '{' {
		out = c.containerAttrs(out, ctr)
	}
	switch rec.kind {
	case kindAlert:
		out = c.rawStringAttr(out, AttrRule, w.field("rule"))
		if v := w.field("severity"); len(v) >= 2 && v[0] == '"' {
			s, _ := detect.ParseSeverity(string(unquote(v)))
			sev, sevText = severity(s), unquote(v)
		}
	case kindEvent:
		switch string(ev) {
		case "lost":
			out = intAttr(out, AttrLostCount, w.field("count"))
			out = c.rawStringAttr(out, AttrLostCause, w.field("cause"))
			sev, sevText = sevWarn, []byte("warning")
		case "flood": // one source's events, counted instead of sent
			out = c.rawStringAttr(out, AttrCommand, w.field("comm"))
			out = uidAttr(out, w.field("uid"))
			out = intAttr(out, AttrFloodCount, w.field("count"))
			out = c.rawStringAttr(out, AttrFloodKind, w.field("kind"))
			sev, sevText = sevWarn, []byte("warning")
		}
	}
	if sev != 0 {
		out = appendVarintField(out, fLRSeverity, sev)
	}
	out = c.stringField(out, fLRSeverityText, sevText)
	c.tail = append(c.tail[:0], out[tailStart:]...)
	c.tailKind, c.tailOK = rec.kind, true
	return closeWide(out, lr), nil
}

// unquote returns the contents of a JSON string with no escapes (event
// names, severities, times); anything else is returned as is.
func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// stringField writes a JSON string's raw contents (unescaped) as field f.
func (c *recordEncoder) stringField(out []byte, f int, s []byte) []byte {
	return appendBytesField(out, f, s)
}

// stringAttr writes the attribute k = prefix+s-seq (the record id).
func (c *recordEncoder) stringAttr(out []byte, k string, prefix []byte, s string, seq uint64) []byte {
	out, kv := openField(out, fLRAttrs)
	out = appendBytesField(out, fKVKey, k)
	out, v := openField(out, fKVValue)
	out, sv := openField(out, fAVString)
	out = append(append(append(out, prefix...), s...), '-')
	out = strconv.AppendUint(out, seq, 10)
	return closeField(closeField(closeField(out, sv), v), kv)
}

// rawStringAttr writes k = the JSON string v, when v is one.
func (c *recordEncoder) rawStringAttr(out []byte, k string, v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return out
	}
	out, kv := openField(out, fLRAttrs)
	out = appendBytesField(out, fKVKey, k)
	out, vm := openField(out, fKVValue)
	out, sv := openField(out, fAVString)
	sub := jsonWire{b: v}
	out, _ = sub.str(out) // checked when the body was written
	return closeField(closeField(closeField(out, sv), vm), kv)
}

// intAttr writes k = the JSON integer v, when v is one.
func intAttr(out []byte, k string, v []byte) []byte {
	n, ok := parseInt(v)
	if !ok {
		return out
	}
	out, kv := openField(out, fLRAttrs)
	out = appendBytesField(out, fKVKey, k)
	out, vm := openField(out, fKVValue)
	out = appendVarintField(out, fAVInt, uint64(n))
	return closeField(closeField(out, vm), kv)
}

// uidAttr writes user.id, a string by the convention, from the JSON uid.
func uidAttr(out []byte, v []byte) []byte {
	if _, ok := parseInt(v); !ok {
		return out
	}
	out, kv := openField(out, fLRAttrs)
	out = appendBytesField(out, fKVKey, AttrUserID)
	out, vm := openField(out, fKVValue)
	out = appendBytesField(out, fAVString, v)
	return closeField(closeField(out, vm), kv)
}

// containerAttrs writes container.* and k8s.pod.* from the container
// object's JSON.
func (c *recordEncoder) containerAttrs(out []byte, ctr []byte) []byte {
	sub := &c.sub
	*sub = jsonWire{b: ctr, top: sub.top[:0]}
	var ok bool
	if c.scratch, ok = sub.value(c.scratch[:0], 0); !ok {
		return out
	}
	out = c.rawStringAttr(out, AttrContainerID, sub.field("id"))
	out = c.rawStringAttr(out, AttrContainerName, sub.field("name"))
	out = c.rawStringAttr(out, AttrRuntime, sub.field("runtime"))
	if pod := sub.field("pod"); len(pod) > 0 && pod[0] == '{' {
		p := &c.pod
		*p = jsonWire{b: pod, top: p.top[:0]}
		if c.scratch, ok = p.value(c.scratch[:0], 0); ok {
			out = c.rawStringAttr(out, AttrPodName, p.field("name"))
			out = c.rawStringAttr(out, AttrPodNamespace, p.field("namespace"))
		}
	}
	return out
}
