package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/nstrace/nstrace/tracer/event"
)

// Record is one record of a session as the Reader returns it: exactly one
// of Event (an event or a loss marker) and Alert is set.
type Record struct {
	Event *event.Event // reused by the following call
	Alert *Alert       // the caller's to keep
}

// Next returns the next event or loss marker, and io.EOF after the last.
// Alert records are passed over (NextRecord returns them). The event is
// reused by the following call.
func (r *Reader) Next() (*event.Event, error) {
	for {
		rec, err := r.NextRecord()
		if err != nil || rec.Event != nil {
			return rec.Event, err
		}
	}
}

// NextRecord returns the next event, loss marker or alert, and io.EOF
// after the last. Records of kinds this nstrace does not know are skipped
// and counted (Skipped), with one warning per kind.
func (r *Reader) NextRecord() (Record, error) {
	for r.err == nil {
		if r.src == nil {
			if len(r.paths) == 0 {
				r.err = io.EOF
				break
			}
			if err := r.start(); err != nil {
				r.err = err
				break
			}
			continue
		}
		got, err := r.step()
		if err != nil {
			r.err = err
			break
		}
		switch got {
		case kindEvent:
			return Record{Event: &r.ev}, nil
		case kindAlert:
			return Record{Alert: r.alert}, nil
		}
	}
	return Record{}, r.err
}

// What one line of a session file is.
type kind int

const (
	kindNone    kind = iota // no "event" field
	kindHeader              // "session"
	kindTrailer             // "end"
	kindEvent               // an event or loss marker this nstrace knows
	kindAlert               // "alert"
	kindSeal                // "seal": for verify, passed over when reading
	kindUnknown             // any other: a record kind from a newer nstrace
)

// recordKind finds a record's "event" value, returning what the line is
// and, for an unknown kind, its name. The fast path looks for the key
// before any nested object (an alert's trigger holds an "event" of its
// own); a key cannot appear inside a JSON string, whose quotes would be
// escaped. Anything else falls back to a decode.
func recordKind(line []byte) (kind, string) {
	const key = `"event":"`
	if i := bytes.Index(line, []byte(key)); i >= 0 && bytes.IndexByte(line[:i], '{') == bytes.LastIndexByte(line[:i], '{') {
		rest := line[i+len(key):]
		if end := bytes.IndexByte(rest, '"'); end >= 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			if k, ok := kinds[string(rest[:end])]; ok { // no allocation: a map lookup
				return k, ""
			}
			return kindUnknown, string(rest[:end])
		}
	}
	var probe struct {
		Event *string `json:"event"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return kindEvent, "" // let the event decoder say what is wrong
	}
	if probe.Event == nil {
		return kindNone, ""
	}
	if k, ok := kinds[*probe.Event]; ok {
		return k, ""
	}
	return kindUnknown, *probe.Event
}

// kinds are the record kinds this nstrace knows, by their "event" value.
var kinds = func() map[string]kind {
	m := map[string]kind{headerEvent: kindHeader, trailerEvent: kindTrailer, alertEvent: kindAlert, sealEvent: kindSeal}
	for k := event.KindUnknown + 1; ; k++ {
		name := k.String()
		if _, ok := event.ParseKind(name); !ok || k == 0 {
			break
		}
		m[name] = kindEvent
	}
	return m
}()

// maxKindsNamed bounds the unknown kinds the Reader names one by one.
const maxKindsNamed = 16

// skip counts a record of a kind this nstrace does not know, warning once
// per kind: a newer nstrace may add record kinds without changing the
// format, and an older reader reads on past them.
func (r *Reader) skip(name string) {
	r.skipped++
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	if _, seen := r.unknown[name]; seen {
		r.unknown[name]++
		return
	}
	if len(r.unknown) >= maxKindsNamed {
		if r.unknown[""]++; r.unknown[""] == 1 {
			r.warn("more unknown record kinds skipped")
		}
		return
	}
	if r.unknown == nil {
		r.unknown = make(map[string]uint64)
	}
	r.unknown[name] = 1
	r.warn(fmt.Sprintf("records of kind %s skipped: not known to this nstrace (written by a newer one?)", strconv.QuoteToASCII(name)))
}

// Skipped counts the records skipped because their kind is unknown.
func (r *Reader) Skipped() uint64 { return r.skipped }
