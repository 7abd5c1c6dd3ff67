package export

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"

	"github.com/nstrace/nstrace/tracer/detect"
)

// recordKind says what a spooled record is; the body is its JSON object.
type recordKind uint8

const (
	kindEvent recordKind = iota + 1
	kindAlert
	kindSummary
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

// eventName is the EventName of a record whose JSON "event" field is ev.
func eventName(ev string) string {
	switch ev {
	case "alert", "lost", "flood", "summary":
		return EventNamePrefix + ev
	}
	return EventNamePrefix + "namespace." + ev
}

// severity maps an alert's severity onto OpenTelemetry's scale.
func severity(s detect.Severity) log.Severity {
	switch s {
	case detect.Info:
		return log.SeverityInfo
	case detect.Notice:
		return log.SeverityInfo2
	case detect.Warning:
		return log.SeverityWarn
	case detect.Critical:
		return log.SeverityError
	}
	return log.SeverityUndefined
}

// errBadBody marks a spooled record whose JSON does not decode.
var errBadBody = errors.New("spooled record is not a JSON object")

// toLogRecord turns one spooled record into the log record sent. The body
// is the record's JSON object as structured values; the attributes are
// read from it, so the JSON encoder stays the one source of the schema.
func toLogRecord(rec spoolRecord, session string) (log.Record, error) {
	var r log.Record
	body, fields, err := decodeJSONObject(rec.json)
	if err != nil || body.Type() != attribute.MAP {
		return r, fmt.Errorf("record %d: %w", rec.seq, errBadBody)
	}
	get := func(k string) (attribute.Value, bool) {
		for _, kv := range fields {
			if string(kv.Key) == k {
				return kv.Value, true
			}
		}
		return attribute.Value{}, false
	}
	ev, _ := get("event")
	if t, ok := get("time"); ok {
		if ts, err := time.Parse(time.RFC3339Nano, t.AsString()); err == nil {
			r.SetTimestamp(ts)
		}
	}
	r.SetObservedTimestamp(time.Unix(0, rec.observed))
	r.SetEventName(eventName(ev.AsString()))
	r.SetSeverity(log.SeverityInfo)
	r.SetSeverityText("info")
	r.SetBody(body)

	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs,
		attribute.String(AttrRecordID, session+"-"+strconv.FormatUint(rec.seq, 10)),
		attribute.String(AttrEvent, ev.AsString()))
	copyInt := func(from, to string) {
		if v, ok := get(from); ok && v.Type() == attribute.INT64 {
			attrs = append(attrs, attribute.Int64(to, v.AsInt64()))
		}
	}
	copyString := func(fields []attribute.KeyValue, from, to string) {
		for _, kv := range fields {
			if string(kv.Key) == from && kv.Value.Type() == attribute.STRING {
				attrs = append(attrs, attribute.String(to, kv.Value.AsString()))
			}
		}
	}
	// A destroyed namespace has no process (pid 0): no process attributes.
	if pid, ok := get("pid"); ok && pid.AsInt64() != 0 {
		copyInt("pid", AttrPid)
		copyInt("ppid", AttrParentPid)
		copyInt("tid", AttrThreadID)
		copyString(fields, "comm", AttrCommand)
		if v, ok := get("uid"); ok && v.Type() == attribute.INT64 {
			attrs = append(attrs, attribute.String(AttrUserID, strconv.FormatInt(v.AsInt64(), 10)))
		}
	}
	copyInt("cgroup_id", AttrCgroupID)
	copyString(fields, "error", AttrError)
	if c, ok := get("container"); ok && c.Type() == attribute.MAP {
		ctr := c.AsMap()
		copyString(ctr, "id", AttrContainerID)
		copyString(ctr, "name", AttrContainerName)
		copyString(ctr, "runtime", AttrRuntime)
		for _, kv := range ctr {
			if kv.Key == "pod" && kv.Value.Type() == attribute.MAP {
				copyString(kv.Value.AsMap(), "name", AttrPodName)
				copyString(kv.Value.AsMap(), "namespace", AttrPodNamespace)
			}
		}
	}
	switch rec.kind {
	case kindAlert:
		copyString(fields, "rule", AttrRule)
		if v, ok := get("severity"); ok {
			sev, _ := detect.ParseSeverity(v.AsString())
			r.SetSeverity(severity(sev))
			r.SetSeverityText(v.AsString())
		}
	case kindEvent:
		switch ev.AsString() {
		case "lost":
			copyInt("count", AttrLostCount)
			copyString(fields, "cause", AttrLostCause)
			r.SetSeverity(log.SeverityWarn)
			r.SetSeverityText("warning")
		case "flood": // one source's events, counted instead of sent
			copyString(fields, "comm", AttrCommand)
			if v, ok := get("uid"); ok && v.Type() == attribute.INT64 {
				attrs = append(attrs, attribute.String(AttrUserID, strconv.FormatInt(v.AsInt64(), 10)))
			}
			copyInt("count", AttrFloodCount)
			copyString(fields, "kind", AttrFloodKind)
			r.SetSeverity(log.SeverityWarn)
			r.SetSeverityText("warning")
		}
	}
	r.AddAttributes(attrs...)
	return r, nil
}
