package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/detect"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/filter"
	"github.com/nstrace/nstrace/tracer/resolve"
)

// pipeline carries each event from its source, the tracer or a session
// file, through enrichment and the filter to the sinks. Live and replay
// build the same pipeline, so both show the same events the same way.
type pipeline struct {
	// enrich labels an event before it is filtered (the resolver belongs
	// here: --container needs its labels).
	enrich []func(*event.Event)
	// hold, when set, may delay events until a name shows up.
	hold   *resolve.Holdback
	filter *filter.Filter
	sinks  []sink    // the display, the session file, ...
	alerts *alerting // detection and metrics (alerts.go); nil: none
	// record is the session file among the sinks (setRecord); metrics
	// read it from their own goroutine.
	record atomic.Pointer[sessionSink]

	// mu is held while an event is counted and written, never while it is
	// enriched or checked by the rules: so that a stop that cannot wait for
	// a slow event (takeOver) can close the sinks and count what is left.
	mu     sync.Mutex
	closed bool // taken over: nothing more is counted or written

	seen, kept uint64 // events, loss markers not counted
	lost       uint64 // records lost, from loss markers (all causes)
	lastKept   bool   // the last event passed the filter
	flooded    uint64 // events counted in flood records instead of shown
	// lostSaturated: lost passed math.MaxUint64 and stays there.
	lostSaturated bool
	warn          io.Writer // where the one warning about it goes; nil: none

	// For a stop that takes over: how many events from the ring left the
	// pipeline (written, filtered out or dropped), and the loss markers
	// that went through, by cause: the kernel's drops and shutdown.
	finished               uint64
	kernelLost, atShutdown uint64
}

// errTakenOver ends a Run whose pipeline a stop took over.
var errTakenOver = errors.New("pipeline closed by the stop")

// sink is where kept events go. It must not keep ev past the call.
type sink interface {
	WriteEvent(ev *event.Event) error
	Flush() error
}

// event runs ev through the pipeline. It allocates nothing per event.
func (p *pipeline) event(ev *event.Event) error {
	p.lastKept = false
	for _, fn := range p.enrich {
		fn(ev)
	}
	if ev.Kind == event.Destroy && len(ev.Changes) == 0 {
		return p.drop() // an inode the resolver knows as no namespace
	}
	if p.hold != nil {
		return p.hold.Event(ev, p.pass)
	}
	return p.pass(ev)
}

// drop counts an event the pipeline drops by design.
func (p *pipeline) drop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errTakenOver
	}
	p.finished++
	return nil
}

// pass runs a resolved event through the filter to the sinks.
func (p *pipeline) pass(ev *event.Event) error {
	if p.alerts != nil {
		p.alerts.check(ev)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errTakenOver
	}
	if tracer.FromRing(ev) {
		p.finished++
	}
	if ev.Kind != event.Lost && ev.Kind != event.Flood {
		p.seen++
	}
	if p.lastKept = p.filter.Keep(ev); !p.lastKept {
		return nil
	}
	if err := p.write(ev); err != nil {
		return err
	}
	if p.alerts != nil {
		return p.alerts.emit()
	}
	return nil
}

// write counts a kept event and hands it to the sinks. p.mu is held.
func (p *pipeline) write(ev *event.Event) error {
	if ev.Kind == event.Lost {
		p.addLost(ev.Lost)
		switch ev.Cause {
		case "":
			p.kernelLost, _ = event.AddCount(p.kernelLost, ev.Lost)
		case event.LostShutdown:
			p.atShutdown, _ = event.AddCount(p.atShutdown, ev.Lost)
		}
	} else if ev.Kind == event.Flood {
		p.flooded, _ = event.AddCount(p.flooded, ev.Count)
	} else {
		p.kept++
	}
	for _, s := range p.sinks {
		if err := s.WriteEvent(ev); err != nil {
			return err
		}
	}
	return nil
}

// recordedAlert shows an alert read from a session, which follows the
// event that raised it: when the filter kept that event.
func (p *pipeline) recordedAlert(a *detect.Alert) error {
	if !p.lastKept || p.alerts == nil {
		return nil
	}
	p.alerts.pending = append(p.alerts.pending[:0], *a)
	return p.alerts.emit()
}

// setRecord adds the session file to the sinks, for events and alerts.
func (p *pipeline) setRecord(s *sessionSink) {
	p.sinks = append(p.sinks, s)
	if p.alerts != nil {
		p.alerts.record = s
	}
	p.record.Store(s)
}

// unwritten counts the events the session file did not get (a full disk).
// It is safe to call from any goroutine.
func (p *pipeline) unwritten() uint64 { return p.record.Load().unwritten() }

// flush pushes out what the sinks buffer, and what the hold-back no longer
// waits for: called when events pause.
func (p *pipeline) flush() error {
	if p.hold != nil {
		if err := p.hold.Flush(p.pass); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errTakenOver
	}
	for _, s := range p.sinks {
		if err := s.Flush(); err != nil {
			return err
		}
	}
	if p.alerts != nil {
		return p.alerts.flush()
	}
	return nil
}

// finish releases what the hold-back still has and flushes: called once
// the stream has ended.
func (p *pipeline) finish() error {
	if p.hold != nil {
		if err := p.hold.Drain(p.pass); err != nil {
			return err
		}
	}
	return p.flush()
}

// takeOver closes the pipeline to the goroutine running it, for a stop that
// will not wait for it: that goroutine counts and writes nothing more, and
// the caller may write to the sinks. It polls for p.mu, which is held only
// while an event is written, until by; false if it never got it (a sink is
// blocked). On true the caller holds p.mu for good.
func (p *pipeline) takeOver(by time.Time) bool {
	for !p.mu.TryLock() {
		if time.Now().After(by) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.closed = true
	return true
}

// addLost counts n more records lost, saturating, with one warning the
// first time the count saturates.
func (p *pipeline) addLost(n uint64) {
	var sat bool
	p.lost, sat = event.AddCount(p.lost, n)
	if sat && !p.lostSaturated {
		p.lostSaturated = true
		if p.warn != nil {
			fmt.Fprintf(p.warn, "nstrace: warning: more records lost than a 64-bit count holds: counting stops at %d\n", p.lost)
		}
	}
}

// summary is the closing line: what was shown and what was lost, the
// events a full disk kept out of the session file included.
func (p *pipeline) summary() string {
	total, sat := p.lost, p.lostSaturated
	n := p.unwritten()
	if n > 0 {
		var s bool
		total, s = event.AddCount(total, n)
		sat = sat || s
	}
	lost := fmt.Sprintf("%d lost", total)
	if sat {
		lost = "at least " + lost
	}
	var why []string
	if n > 0 {
		why = append(why, fmt.Sprintf("%d not written to the session file", n))
	}
	if p.atShutdown > 0 {
		why = append(why, fmt.Sprintf("%d at shutdown", p.atShutdown))
	}
	if len(why) > 0 {
		lost += " (" + strings.Join(why, ", ") + ")"
	}
	s := fmt.Sprintf("%d events", p.kept)
	if p.kept != p.seen {
		s += fmt.Sprintf(" (%d filtered out)", p.seen-p.kept)
	}
	if p.flooded != 0 {
		s += fmt.Sprintf(", %d past their share counted in flood records", p.flooded)
	}
	return s + ", " + lost
}

// filterFlags are the filters trace and replay share.
type filterFlags struct {
	pids       []uint
	comms      []string
	types      []string
	events     []string
	failed     bool
	containers []string
	namespaces []string
}

func (f *filterFlags) register(fl *pflag.FlagSet, live bool) {
	kernel := ""
	if live {
		kernel = " (filtered in the kernel)"
	}
	fl.UintSliceVar(&f.pids, "pid", nil, "only calls made by these processes (for a new task: by its creator)"+kernel)
	fl.StringSliceVar(&f.comms, "comm", nil, "only processes whose command matches one of these globs, e.g. 'runc*'")
	fl.StringSliceVar(&f.types, "type", nil, "only these namespace types, e.g. net,uts"+kernel)
	fl.StringSliceVar(&f.events, "event", nil, "only these events: clone, unshare, setns, exec")
	fl.BoolVar(&f.failed, "failed", false, "only failed or denied attempts")
	fl.StringSliceVar(&f.containers, "container", nil, "only events in this container (ID prefix or name)")
	fl.StringSliceVar(&f.namespaces, "ns", nil, "only events touching this namespace (inode, ns_id, or net:[4026531840])")
}

// options parses the flags; the time window is the caller's to add.
func (f *filterFlags) options() (filter.Options, error) {
	o := filter.Options{Comms: f.comms, Failed: f.failed, Containers: f.containers}
	for _, p := range f.pids {
		if p == 0 || p > 1<<32-1 {
			return o, usageError{fmt.Errorf("--pid %d: not a process id", p)}
		}
		o.Pids = append(o.Pids, uint32(p))
	}
	var err error
	if o.Types, err = filter.ParseTypes(f.types); err != nil {
		return o, usageError{err}
	}
	if o.Events, err = filter.ParseEvents(f.events); err != nil {
		return o, usageError{err}
	}
	if o.Namespaces, err = filter.ParseNamespaces(f.namespaces); err != nil {
		return o, usageError{err}
	}
	return o, nil
}
