package report

import (
	"strconv"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

// Report is one or more recorded sessions, ready to draw. Every string the
// Builder put in it is sanitized; the fields its caller sets (Title, Files,
// Filter, Warnings) are sanitized when written.
type Report struct {
	Title     string    // the page title; empty: one made from the sessions
	Files     []string  // the session files read
	Generated time.Time // when the report was made
	Filter    string    // the report's own filter, as flags; empty: none
	Warnings  []string  // what the reader found wrong but read past
	Rules     []string  // the detection rules that ran; none: no alerts means none looked for
	Seal      SealStatus

	Sessions []Session
	Start    time.Time // the first event shown: the left end of the time axis
	End      time.Time // the last one
	Summary  Summary
	Lanes    []Lane   // namespaces and the special lanes, in display order
	Groups   []Group  // lanes by type, in display order
	Alerts   []Alert  // in the order raised, up to Options.MaxAlerts
	Unlisted int      // alerts past Options.MaxAlerts: counted in ByRule, not listed
	ByRule   []Counts // every alert by rule, most first

	strs    []string // comms, flag sets and error names, by index
	ctrs    []event.Container
	events  []eventRec
	changes []changeRec
	bands   bands // marks of the events past Options.MaxEvents
}

// SealStatus is what checking the recording's seals found (tracer/internal/seal),
// as the report's caller set it.
type SealStatus struct {
	State SealState
	Text  string // one line for a person, as nstrace verify words it
}

// SealState is a seal check's verdict.
type SealState uint8

// The verdicts, as the summary marks them.
const (
	SealsNotChecked SealState = iota // the summary says nothing of seals
	SealsVerified                    // every record sealed, every seal checks
	SealsUnsealed                    // sealed records check; records after the last seal are unsealed
	SealsBroken                      // a seal or the chain does not check: changed, missing or added lines
	SealsAbsent                      // the recording has no seal records
)

// Session is what a session header says about a recording.
type Session struct {
	ID      string
	Host    string
	Kernel  string
	Version string // of the nstrace that recorded it
	Started time.Time
	Filter  string // the recorder's filter; empty: none
	Parts   int    // files of a rotated recording read
	Hooks   []session.Hook
}

// LaneKind tells a namespace's lane from the special ones.
type LaneKind uint8

// The lanes: one per namespace, and the special ones.
const (
	NamespaceLane LaneKind = iota
	AlertLane              // the alerts raised
	FailedLane             // failed attempts that name no namespace
	LostLane               // where the kernel dropped records
	FoldedLane             // namespaces of one type past Options.MaxLanes, counted together
)

var laneKindNames = [...]string{"ns", "alerts", "failed", "lost", "folded"}

func (k LaneKind) String() string { return laneKindNames[k] }

// Lane is one row of the timeline: a namespace, or a special lane.
type Lane struct {
	Kind      LaneKind
	Type      event.NsType // a base type: pid, never pid_for_children
	Inode     uint32
	NsID      uint64
	Label     string // what the namespace is: its name, host, container
	Name      string // its `ip netns` or other mount name
	Host      bool
	Container string // the container's label, e.g. "ctr 4f2a…"
	Owner     uint32 // inode of the owning user namespace
	Creator   *Creator
	Created   time.Time // zero: it existed before the first event
	Gone      time.Time // zero: it outlived the last event, or no destroy event said
	Reused    time.Time // zero, or when its inode went to a new namespace: it was gone by then
	Marks     Marks

	rawName string // unsanitized, for quoting
}

// Creator is the process that created a namespace.
type Creator struct {
	Pid     uint32
	Comm    string
	Syscall string
}

func (c *Creator) String() string {
	return c.Comm + "[" + strconv.FormatUint(uint64(c.Pid), 10) + "] (" + c.Syscall + ")"
}

// Marks counts a lane's marks by what they are.
type Marks struct {
	Create, Join, Destroy, Failed, Lost, Alert int
}

// count counts one change's mark.
func (m *Marks) count(a event.Action) {
	switch a {
	case event.Create:
		m.Create++
	case event.Join:
		m.Join++
	case event.ActionDestroy:
		m.Destroy++
	}
}

// Total is the number of marks.
func (m Marks) Total() int { return m.Create + m.Join + m.Destroy + m.Failed + m.Lost + m.Alert }

// Group is the lanes of one namespace type, or the special lanes.
type Group struct {
	Name  string
	Lanes []int
}

// Alert is something a detection rule raised about an event.
type Alert struct {
	Rule     string
	Severity string // info, notice, warning, critical (tracer/internal/detect's); others are shown as warning
	Message  string
	Time     time.Time
	Event    int // index of the trigger event among those shown; -1: none given
}

// Summary counts what the report shows.
type Summary struct {
	Read       uint64 // events read, before the report's filter; loss markers not counted
	Events     int    // events shown
	Namespaces int    // namespace lanes, and namespaces created past the lane limit
	Folded     int    // namespaces created past the lane limit, drawn together in a folded lane per type
	Created    int    // namespaces created while recording
	Failed     int    // failed attempts
	Lost       uint64 // records the kernel dropped
	LossMarks  int    // loss markers (each a burst of drops)
	ByEvent    []Counts
	ByType     []TypeCounts
	ByAction   []Counts
	ByError    []Counts
}

// Counts is a name and how often it occurred.
type Counts struct {
	Name     string
	Severity string // alerts only
	N        int
}

// TypeCounts are the changes of one namespace type.
type TypeCounts struct {
	Type                          string
	Create, Join, Destroy, Failed int
	Namespaces                    int
}

// eventRec is an event as the page needs it, without its strings.
type eventRec struct {
	t                   int64 // unix nanoseconds
	kind                event.Kind
	errno               syscall.Errno
	pid, tid, ppid, uid uint32
	comm, flags, err    int32 // indexes into strs
	ctr                 int32 // index into ctrs; -1: none
	lane                int32 // a failed attempt's or a loss marker's lane; -1: none
	target              event.Target
	hasTarget           bool
	ch0, ch1            int32 // its changes: changes[ch0:ch1]
	lost                uint64
}

// changeRec is a change with the lanes it moved the task between.
type changeRec struct {
	typ      event.NsType // as the event said: pid_for_children stays so
	action   event.Action
	from, to uint32
	nsid     uint64
	lane     int32
	fromLane int32 // -1: not drawn
}
