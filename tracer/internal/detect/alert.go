package detect

import (
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/encode"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

// Severity ranks alerts, lowest first.
type Severity uint8

// The severities, lowest first.
const (
	Info Severity = iota + 1
	Notice
	Warning
	Critical
)

var severityNames = [...]string{"", "info", "notice", "warning", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) && s != 0 {
		return severityNames[s]
	}
	return "unknown"
}

// ParseSeverity is the inverse of Severity.String.
func ParseSeverity(s string) (Severity, bool) {
	for i, n := range severityNames {
		if n == s && i != 0 {
			return Severity(i), true
		}
	}
	return 0, false
}

// Alert is one rule's verdict on one event. It owns its data: Trigger is a
// copy, safe to keep.
type Alert struct {
	Time      time.Time
	Rule      string
	Severity  Severity
	Message   string // for people; may carry process-chosen text (comm): render it sanitized
	Pid, Tid  uint32
	Comm      string
	Container *event.Container // the process's container: its cgroup's, else its namespaces'
	Trigger   *event.Event

	// Facts some rules add; zero when they do not apply.
	Joined     *event.Container // cross-container-join: the container whose namespace was joined
	Userns     uint32           // unprivileged-userns: the user namespace in question
	Created    []event.NsType   // unprivileged-userns: namespaces created in it by the trigger
	Suppressed uint64           // flood: flood records left out since the last alert for this source
	Shared     []event.NsType   // container-shares-host-namespace: the host's namespaces the container is in

	// A window's closing alert (fold.go): how many times the rule fired in
	// this container in the window, the first included (0: an alert
	// raised at once), and the last trigger. Trigger is the first.
	Count uint64
	Last  *event.Event

	Mitre []string // built-ins: MITRE ATT&CK technique ids (RuleInfo)
	Also  []string // other built-ins the trigger raised, less specific (Precedence)
}

// AppendJSON appends a as one JSON object (no newline): the alert record of
// the JSON Lines stream, with the triggering event nested whole.
func (a *Alert) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = encode.AppendTime(b, a.Time)
	b = append(b, `","event":"alert","rule":`...)
	b = encode.AppendJSONString(b, a.Rule)
	b = append(b, `,"severity":"`...)
	b = append(b, a.Severity.String()...)
	b = append(b, `","message":`...)
	b = encode.AppendJSONString(b, a.Message)
	b = append(b, `,"pid":`...)
	b = strconv.AppendUint(b, uint64(a.Pid), 10)
	b = append(b, `,"tid":`...)
	b = strconv.AppendUint(b, uint64(a.Tid), 10)
	b = append(b, `,"comm":`...)
	b = encode.AppendJSONString(b, a.Comm)
	if a.Container != nil {
		b = append(b, `,"container":`...)
		b = a.Container.AppendJSON(b)
	}
	if a.Joined != nil {
		b = append(b, `,"joined_container":`...)
		b = a.Joined.AppendJSON(b)
	}
	if a.Userns != 0 {
		b = append(b, `,"userns":`...)
		b = strconv.AppendUint(b, uint64(a.Userns), 10)
	}
	if len(a.Created) > 0 {
		b = append(b, `,"created":[`...)
		for i, t := range a.Created {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, t.String()...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	if a.Suppressed != 0 {
		b = append(b, `,"suppressed":`...)
		b = strconv.AppendUint(b, a.Suppressed, 10)
	}
	b = a.appendShared(b)
	b = a.appendMitreAlso(b)
	if a.Trigger != nil {
		b = append(b, `,"trigger":`...)
		b = a.Trigger.AppendJSON(b)
	}
	if a.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, a.Count, 10)
	}
	if a.Last != nil {
		b = append(b, `,"last_trigger":`...)
		b = a.Last.AppendJSON(b)
	}
	return append(b, '}')
}

// ANSI colours per severity, for AppendText on a terminal.
var severityColors = [...]string{
	Info:     "\x1b[1m",    // bold
	Notice:   "\x1b[1;36m", // bold cyan
	Warning:  "\x1b[1;33m", // bold yellow
	Critical: "\x1b[1;37;41m",
}

const colorReset = "\x1b[0m"

// AppendText appends the alert as one line in the text stream's manner (no
// newline): the time column, then `ALERT severity rule: message`. With
// color, the line is highlighted by severity. Everything a process chose is
// sanitized.
func (a *Alert) AppendText(b []byte, color bool) []byte {
	if color && int(a.Severity) < len(severityColors) {
		b = append(b, severityColors[a.Severity]...)
	}
	b = encode.AppendTimeOfDay(b, a.Time)
	b = append(b, "  ALERT "...)
	b = append(b, a.Severity.String()...)
	b = append(b, ' ')
	b = render.AppendSanitized(b, a.Rule)
	b = append(b, ": "...)
	b = render.AppendSanitized(b, a.Message)
	if a.Suppressed != 0 {
		b = append(b, " ("...)
		b = strconv.AppendUint(b, a.Suppressed, 10)
		b = append(b, " similar left out)"...)
	}
	if color {
		b = append(b, colorReset...)
	}
	return b
}
