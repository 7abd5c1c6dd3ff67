package pipeline

import (
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/filter"
)

// alertSink keeps the alerts written.
type alertSink struct{ alerts []detect.Alert }

func (s *alertSink) WriteEvent(*event.Event) error    { return nil }
func (s *alertSink) WriteAlert(a *detect.Alert) error { s.alerts = append(s.alerts, *a); return nil }
func (s *alertSink) Flush() error                     { return nil }

var foldT0 = time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)

// unshareAt is comm's unshare at foldT0+at: of a user namespace as uid
// 65534 (unprivileged-userns), else of uts as root (no alert).
func unshareAt(pid uint32, comm string, at time.Duration, userns bool) *event.Event {
	ev := &event.Event{Time: foldT0.Add(at), Kind: event.Unshare, Pid: pid, Tid: pid, Ppid: 1, Comm: comm,
		Flags: syscall.CLONE_NEWUTS, Changes: []event.Change{{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026540000 + pid}}}
	if userns {
		ev.UID, ev.Flags = 65534, syscall.CLONE_NEWUSER
		ev.Changes[0].Type = event.User
	}
	return ev
}

// foldingPipeline keeps comm "unshare" only, folding per 10 s window.
func foldingPipeline(t *testing.T) (*Pipeline, *alertSink) {
	t.Helper()
	f, err := filter.New(filter.Options{Comms: []string{"unshare"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &alertSink{}
	p := New(Options{Detector: detect.New(nil, detect.WithRepeatWindow(10*time.Second)), Filter: f, Sinks: []Sink{s}})
	for _, ev := range []*event.Event{unshareAt(1000, "unshare", 0, true), unshareAt(1001, "unshare", time.Second, true)} {
		if err := p.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	return p, s
}

// A window's closing alert that comes due on an event the filter drops is
// written all the same: its own first trigger was kept.
func TestAClosingAlertOnAFilteredEventIsWritten(t *testing.T) {
	p, s := foldingPipeline(t)
	if err := p.Event(unshareAt(7, "other", 20*time.Second, false)); err != nil {
		t.Fatal(err)
	}
	if len(s.alerts) != 2 || s.alerts[0].Count != 0 || s.alerts[1].Count != 2 || s.alerts[1].Last.Pid != 1001 {
		t.Fatalf("alerts %+v, want the first at once and the closing one counting 2", s.alerts)
	}
	if got := p.Held(); got != 0 {
		t.Errorf("held %d after the window closed, want 0", got)
	}
}

// A stop that takes the pipeline over before a window closes says how
// many closing alerts it leaves unwritten.
func TestATakeOverCountsTheClosingAlertsNotWritten(t *testing.T) {
	p, s := foldingPipeline(t)
	if !p.TakeOver(time.Now().Add(time.Second)) {
		t.Fatal("take over failed")
	}
	if len(s.alerts) != 1 {
		t.Fatalf("alerts %+v, want the first only", s.alerts)
	}
	want := "1 alerts (1 warning), 1 held by alert folding not written (stopped before they closed)"
	if got := p.AlertSummary(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// Ended normally, the pipeline writes the closing alert and holds none.
func TestFinishWritesTheClosingAlerts(t *testing.T) {
	p, s := foldingPipeline(t)
	if err := p.Finish(); err != nil {
		t.Fatal(err)
	}
	if len(s.alerts) != 2 || s.alerts[1].Count != 2 || p.Held() != 0 {
		t.Fatalf("alerts %+v held %d, want the closing one counting 2 and none held", s.alerts, p.Held())
	}
	if got, want := p.AlertSummary(), "2 alerts (2 warning)"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// A recorded alert raised at start-up (no trigger) replays though no kept
// event comes before it; an ordinary one after a filtered event does not.
func TestARecordedStartupAlertReplays(t *testing.T) {
	f, err := filter.New(filter.Options{Comms: []string{"unshare"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &alertSink{}
	p := New(Options{Filter: f, Sinks: []Sink{s}})
	startup := detect.Alert{Time: foldT0, Rule: detect.RuleContainerSharesHostNamespace, Severity: detect.Warning,
		Pid: 42, Comm: "sleep", Shared: []event.NsType{event.Net}}
	if err := p.RecordedAlert(&startup); err != nil {
		t.Fatal(err)
	}
	other := unshareAt(7, "other", time.Second, false)
	if err := p.Event(other); err != nil {
		t.Fatal(err)
	}
	ordinary := detect.Alert{Time: other.Time, Rule: "r", Severity: detect.Notice, Pid: 7, Trigger: other}
	if err := p.RecordedAlert(&ordinary); err != nil {
		t.Fatal(err)
	}
	if len(s.alerts) != 1 || s.alerts[0].Pid != 42 {
		t.Fatalf("alerts %+v, want the start-up one only", s.alerts)
	}
}
