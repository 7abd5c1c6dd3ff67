package session

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
)

// FormatVersion is the session format this package writes and the newest it
// reads. It changes only when old readers would misread new files: new
// fields and new record kinds do not change it (see the package doc).
const FormatVersion = 1

// Header opens every session file: where and how the events were recorded.
type Header struct {
	Format  int       // set by the Writer
	Time    time.Time // when this file was started; set by the Writer
	Started time.Time // when the recording started (the first file's Time); set by the Writer
	Session string    // random id shared by the files of one recording; set by the Writer
	Part    int       // 1 for the first file, one more per rotation; set by the Writer

	Version string // nstrace's version
	Host    string // host name
	Kernel  string // kernel release (uname -r)
	BootID  string // /proc/sys/kernel/random/boot_id: inodes are unique only within a boot
	Hooks   []Hook // the probes and whether they attached
	Filter  string // the filter the recorder applied, as flags; empty: none

	// Detection is set when the recorder ran detection rules: alert
	// records then follow the events that raised them. Nil: the recording
	// holds no alerts (none looked for, or an older nstrace).
	Detection *Detection

	// Inventory is the namespace inventory at the start, so that names and
	// containers resolve without the host. Opaque here: its owner encodes it.
	Inventory json.RawMessage
}

// Hook is one probe of the recording and what became of it.
type Hook struct {
	Name     string `json:"name"`
	Via      string `json:"via,omitempty"` // how it attached: tracepoint, tp_btf, fentry...
	Required bool   `json:"required,omitempty"`
	Attached bool   `json:"attached"`
	Error    string `json:"error,omitempty"`
}

// LocalHeader describes this machine: host name, kernel release, boot id.
func LocalHeader(version string) Header {
	h := Header{Version: version}
	h.Host, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		h.BootID = strings.TrimSpace(string(b))
	}
	return h
}

// SetInventory stores v, encoded as JSON, as the header's inventory.
func (h *Header) SetInventory(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	h.Inventory = b
	return nil
}

// DecodeInventory decodes the inventory into v. It reports false, and
// leaves v alone, when the header has none.
func (h *Header) DecodeInventory(v any) (bool, error) {
	if len(h.Inventory) == 0 || string(h.Inventory) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(h.Inventory, v); err != nil {
		return false, fmt.Errorf("decode inventory: %w", err)
	}
	return true, nil
}

// headerWire is the header's JSON form; "event" comes first so that a glance
// (or `head -c 40`) tells a session file.
type headerWire struct {
	Event     string          `json:"event"`
	Format    int             `json:"format"`
	Time      string          `json:"time"`
	Started   string          `json:"started"`
	Session   string          `json:"session"`
	Part      int             `json:"part"`
	Version   string          `json:"nstrace"`
	Host      string          `json:"host"`
	Kernel    string          `json:"kernel"`
	BootID    string          `json:"boot_id"`
	Hooks     []Hook          `json:"hooks"`
	Filter    string          `json:"filter,omitempty"`
	Detection *Detection      `json:"detection,omitempty"`
	Inventory json.RawMessage `json:"inventory,omitempty"`
}

const (
	headerEvent  = "session"
	trailerEvent = "end"
)

// appendHeader appends h as one JSON line.
func appendHeader(b []byte, h *Header) ([]byte, error) {
	w := headerWire{
		Event: headerEvent, Format: h.Format, Time: formatTime(h.Time), Started: formatTime(h.Started),
		Session: h.Session, Part: h.Part, Version: h.Version, Host: h.Host, Kernel: h.Kernel,
		BootID: h.BootID, Hooks: h.Hooks, Filter: h.Filter, Detection: h.Detection, Inventory: h.Inventory,
	}
	if w.Detection != nil && w.Detection.Rules == nil {
		w.Detection = &Detection{Rules: []string{}}
	}
	if w.Hooks == nil {
		w.Hooks = []Hook{}
	}
	enc, err := json.Marshal(&w)
	if err != nil {
		return b, fmt.Errorf("encode session header: %w", err)
	}
	if len(enc) >= maxHeader {
		return b, fmt.Errorf("session header of %d bytes is over the %s readers accept", len(enc), sizeString(maxHeader))
	}
	b = append(b, enc...)
	return append(b, '\n'), nil
}

// parseHeader decodes a header line, refusing formats newer than ours before
// looking at anything else: their other fields may mean something new.
func parseHeader(line []byte) (*Header, error) {
	var probe struct {
		Format *json.Number `json:"format"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return nil, describeJSONError(err)
	}
	if probe.Format == nil {
		return nil, errors.New(`session header without "format"`)
	}
	format, err := probe.Format.Int64()
	if err != nil || format < 1 {
		return nil, fmt.Errorf("session header: format %s is not a version number", *probe.Format)
	}
	if format > FormatVersion {
		return nil, fmt.Errorf("session format %d is newer than this nstrace reads (%d): upgrade nstrace", format, FormatVersion)
	}
	var w headerWire
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, describeJSONError(err)
	}
	h := &Header{Format: w.Format, Session: w.Session, Part: w.Part, Version: w.Version, Host: w.Host,
		Kernel: w.Kernel, BootID: w.BootID, Hooks: w.Hooks, Filter: w.Filter, Detection: w.Detection, Inventory: w.Inventory}
	if h.Time, err = parseTime("time", w.Time); err != nil {
		return nil, err
	}
	h.Started = h.Time
	if w.Started != "" {
		if h.Started, err = parseTime("started", w.Started); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// trailer closes a file on a clean stop or a rotation.
type trailer struct {
	Time   time.Time
	Events uint64 // events in this file, loss markers not counted
	Lost   uint64 // records the kernel dropped: the sum of this file's loss markers
	Alerts uint64 // alert records in this file
	Next   string // after a rotation: the file (base name) that continues the session
}

type trailerWire struct {
	Event  string `json:"event"`
	Time   string `json:"time"`
	Events uint64 `json:"events"`
	Lost   uint64 `json:"lost"`
	Alerts uint64 `json:"alerts,omitempty"`
	Next   string `json:"next,omitempty"`
}

func appendTrailer(b []byte, t *trailer) []byte {
	enc, _ := json.Marshal(&trailerWire{Event: trailerEvent, Time: formatTime(t.Time), Events: t.Events, Lost: t.Lost, Alerts: t.Alerts, Next: t.Next})
	b = append(b, enc...)
	return append(b, '\n')
}

func parseTrailer(line []byte) (*trailer, error) {
	var w trailerWire
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, describeJSONError(err)
	}
	t := &trailer{Events: w.Events, Lost: w.Lost, Alerts: w.Alerts, Next: w.Next}
	var err error
	if t.Time, err = parseTime("time", w.Time); err != nil {
		return nil, err
	}
	return t, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(event.TimeLayout) }

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("%q missing", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %q is not an RFC 3339 time", field, s)
	}
	return t, nil
}

// newSessionID is 16 random hex digits: enough to tell recordings apart.
func newSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// describeJSONError words encoding/json's errors for a person reading a file.
func describeJSONError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at column %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("field %q: got a JSON %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type))
	case errors.As(err, &typ):
		return fmt.Errorf("got a JSON %s, want an object", typ.Value)
	}
	return err
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "true or false"
	}
	return "an object"
}

// isObject reports whether line, less leading blanks, starts an object.
func isObject(line []byte) bool {
	line = bytes.TrimLeft(line, " \t\r")
	return len(line) > 0 && line[0] == '{'
}
