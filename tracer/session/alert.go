package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// Alert is an alert record: what a detection rule said about the event
// just before it in the file. Its JSON is the alert line of
// `nstrace trace -o json`, with the triggering event nested whole.
type Alert struct {
	Time       time.Time
	Rule       string
	Severity   string // info, notice, warning, critical
	Message    string // may carry process-chosen text: render it sanitized
	Pid, Tid   uint32
	Comm       string
	Container  *event.Container
	Joined     *event.Container // the container whose namespace was joined
	Userns     uint32
	Created    []event.NsType
	Suppressed uint64
	Shared     []event.NsType // the host's namespaces a container is in
	Mitre      []string       // MITRE ATT&CK technique ids
	Also       []string       // less specific built-ins the trigger raised too
	Trigger    *event.Event
	Count      uint64       // a window's closing alert: how many times the rule fired
	Last       *event.Event // and its last trigger
}

// AlertEncoder is an alert that writes itself as an alert record (one JSON
// object with "event":"alert", no newline); detect.Alert is one.
type AlertEncoder interface {
	AppendJSON(b []byte) []byte
}

// Detection says that the recorder ran detection rules, so that alert
// records follow the events that raised them; a replay can show those
// instead of running rules again.
type Detection struct {
	Rules []string `json:"rules"` // the rules in force, by name
}

const alertEvent = "alert"

type alertWire struct {
	Time       string           `json:"time"`
	Rule       string           `json:"rule"`
	Severity   string           `json:"severity"`
	Message    string           `json:"message"`
	Pid        uint32           `json:"pid"`
	Tid        uint32           `json:"tid"`
	Comm       string           `json:"comm"`
	Container  *event.Container `json:"container"`
	Joined     *event.Container `json:"joined_container"`
	Userns     uint32           `json:"userns"`
	Created    []string         `json:"created"`
	Suppressed uint64           `json:"suppressed"`
	Shared     []string         `json:"host_namespaces"`
	Mitre      []string         `json:"mitre"`
	Also       []string         `json:"also"`
	Trigger    json.RawMessage  `json:"trigger"`
	Count      uint64           `json:"count"`
	Last       json.RawMessage  `json:"last_trigger"`
}

func parseAlert(line []byte) (*Alert, error) {
	var w alertWire
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, describeJSONError(err)
	}
	if w.Rule == "" {
		return nil, errors.New(`alert without a "rule"`)
	}
	a := &Alert{Rule: w.Rule, Severity: w.Severity, Message: w.Message, Pid: w.Pid, Tid: w.Tid, Comm: w.Comm,
		Container: w.Container, Joined: w.Joined, Userns: w.Userns, Suppressed: w.Suppressed, Count: w.Count,
		Mitre: w.Mitre, Also: w.Also}
	var err error
	if a.Time, err = parseTime("time", w.Time); err != nil {
		return nil, err
	}
	if a.Created, err = nsTypes(w.Created); err != nil {
		return nil, err
	}
	if a.Shared, err = nsTypes(w.Shared); err != nil {
		return nil, err
	}
	if len(w.Trigger) > 0 && string(w.Trigger) != "null" {
		a.Trigger = new(event.Event)
		if err := a.Trigger.UnmarshalJSON(w.Trigger); err != nil {
			return nil, fmt.Errorf("alert trigger: %w", describeJSONError(err))
		}
	}
	if len(w.Last) > 0 && string(w.Last) != "null" {
		a.Last = new(event.Event)
		if err := a.Last.UnmarshalJSON(w.Last); err != nil {
			return nil, fmt.Errorf("alert last_trigger: %w", describeJSONError(err))
		}
	}
	return a, nil
}

// nsTypes parses a list of namespace type names.
func nsTypes(names []string) ([]event.NsType, error) {
	var ts []event.NsType
	for _, s := range names {
		t, ok := event.ParseNsType(s)
		if !ok {
			return nil, fmt.Errorf("alert: unknown namespace type %q", s)
		}
		ts = append(ts, t)
	}
	return ts, nil
}
