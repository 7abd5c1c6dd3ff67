// Package pipeline carries events from a source, the tracer's ring or a
// session file, to the sinks, and each alert the rules raise right after
// the event that raised it:
//
//	source → enrich (resolver, ...) → hold-back → detect → filter → sinks
//
// New builds it for live tracing, replay and report alike, so all three
// label, hold, detect and filter the same events the same way. Metrics
// observe it: they see every event and every alert, filtered or not.
//
// To add a sink (an OTLP exporter, say), give it the Sink methods and put
// it in Options.Sinks: it then gets every kept event, each followed by the
// alerts raised on it, from the one goroutine that writes. It must not
// keep what it is given past the call, nor block: what it cannot take it
// queues or counts as lost.
//
// To add an enricher, append a func(*event.Event) to Options.Enrich: it
// runs after the resolver, before the hold-back, the rules and the filter,
// so --container and the rules see what it adds. One that asks in the
// background, as tracer/internal/runtime's Enricher asks the container runtimes, is
// a Waiter in Options.Waiters instead: the hold-back then waits for its
// answer as long as it would for a name, and no longer.
//
// ev.Container is shared with the resolver's cache: an enricher sets
// fields of the event (a Container of its own), not of what the resolver
// lent it.
package pipeline

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
	"github.com/nstrace/nstrace/tracer/internal/saturate"
	"github.com/nstrace/nstrace/tracer/session"
)

// Pipeline runs events from one source to the sinks. Event, Flush and
// Finish are called by the source's goroutine; TakeOver and what follows
// it by a stop that will not wait for that goroutine.
type Pipeline struct {
	enrich  []func(*event.Event)
	hold    *Holdback // may delay events until a name shows up; nil: none
	det     *detect.Detector
	pending []detect.Alert
	filter  *filter.Filter
	sinks   []Sink
	observe Observer // the metrics; nil: none
	// losing is the sink that counts what it could not write (the session
	// file); metrics read it from their own goroutine.
	losing atomic.Pointer[losingSink]

	// mu is held while an event is counted and written, never while it is
	// enriched or checked by the rules: so that a stop that cannot wait for
	// a slow event (TakeOver) can close the sinks and count what is left.
	mu     sync.Mutex
	closed bool // taken over: nothing more is counted or written

	seen, kept uint64 // events, loss markers not counted
	lost       uint64 // records lost, from loss markers (all causes)
	lastKept   bool   // the last event passed the filter
	flooded    uint64 // events counted in flood records instead of shown
	// lostSaturated: lost passed math.MaxUint64 and stays there.
	lostSaturated bool
	warn          io.Writer // where warnings go; nil: none

	// alerts written, by severity: those of events the filter dropped
	// are not (the metrics count every alert).
	alerts [detect.Critical + 1]uint64
	held   int // alerts the detector held after the last write (folded.go)

	// For a stop that takes over: how many events from the ring left the
	// pipeline (written, filtered out or dropped), and the loss markers
	// that went through, by cause: the kernel's drops and shutdown.
	finished               uint64
	kernelLost, atShutdown uint64

	limit, pastLimit uint64 // limit.go
	reached          func()
}

// Options say what a pipeline is made of. Each stage left out is passed
// over; a nil Filter keeps everything.
type Options struct {
	Resolver *resolve.Resolver    // labels namespaces: the first enricher
	HoldBack bool                 // with the Resolver: wait briefly for names (live)
	Enrich   []func(*event.Event) // after the resolver
	// Waiters enrich after Enrich, and with HoldBack an event they await
	// a label for is held as for a name (Holdback).
	Waiters  []Waiter
	Detector *detect.Detector // runs the rules; nil: none
	Filter   *filter.Filter
	Sinks    []Sink
	Observer Observer  // sees every event and alert; nil: none
	Warn     io.Writer // where warnings go; nil: none
}

// Sink is where kept events and their alerts go. It must not keep ev or a
// past the call.
type Sink interface {
	WriteEvent(ev *event.Event) error
	WriteAlert(a *detect.Alert) error
	Flush() error
}

// SessionSink is a sink that notes which session the events that follow
// come from (the report, which lists them).
type SessionSink interface {
	Session(h *session.Header)
}

// LosingSink is a sink that counts the events it could not write (a
// session file on a full disk): they are lost, and said so.
type LosingSink interface {
	Unwritten() uint64
}

type losingSink struct{ LosingSink }

// Observer watches the pipeline: every event before the filter, every
// alert raised. *metrics.Metrics is one.
type Observer interface {
	Event(ev *event.Event)
	Alert(a *detect.Alert)
}

// New builds the pipeline o describes.
func New(o Options) *Pipeline {
	p := &Pipeline{filter: o.Filter, det: o.Detector, observe: o.Observer, warn: o.Warn}
	if o.Resolver != nil {
		p.enrich = append(p.enrich, o.Resolver.Resolve)
		if o.HoldBack {
			p.hold = NewHoldback(o.Resolver, o.Waiters...)
		}
	}
	p.enrich = append(p.enrich, o.Enrich...)
	for _, w := range o.Waiters {
		p.enrich = append(p.enrich, w.Enrich)
	}
	for _, s := range o.Sinks {
		p.AddSink(s)
	}
	return p
}

// AddSink adds a sink made once the pipeline exists: a recording, whose
// header names the pipeline's filter. Call it before the first event.
func (p *Pipeline) AddSink(s Sink) {
	p.sinks = append(p.sinks, s)
	if l, ok := s.(LosingSink); ok {
		p.losing.Store(&losingSink{l})
	}
}

// ErrTakenOver ends a source's run whose pipeline a stop took over.
var ErrTakenOver = errors.New("pipeline closed by the stop")

// Event runs ev through the pipeline. It allocates nothing per event.
func (p *Pipeline) Event(ev *event.Event) error {
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
func (p *Pipeline) drop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrTakenOver
	}
	p.finished++
	return nil
}

// pass runs a resolved event through detection and the filter to the
// sinks, with the alerts it raised.
func (p *Pipeline) pass(ev *event.Event) error {
	if p.observe != nil {
		p.observe.Event(ev)
	}
	p.pending = p.pending[:0]
	if p.det != nil {
		p.pending = append(p.pending, p.det.Check(ev)...)
		if p.observe != nil {
			for i := range p.pending {
				p.observe.Alert(&p.pending[i])
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrTakenOver
	}
	record := fromRing(ev) // an event, not a loss marker or flood count
	if record {
		p.finished++
		p.seen++
	}
	p.lastKept = p.filter.Keep(ev) && p.underLimit(record)
	if p.lastKept {
		if err := p.write(ev); err != nil {
			return err
		}
	}
	// An alert goes with the event that raised it; a window's closing
	// alert or a start-up one rides on whichever event came (folded.go).
	for i := range p.pending {
		a := &p.pending[i]
		if !p.lastKept && !p.carried(a) || p.carried(a) && !p.keepClosing(a) {
			continue
		}
		if err := p.writeAlert(a); err != nil {
			return err
		}
	}
	p.noteHeld()
	if p.lastKept {
		p.checkLimit()
	}
	return nil
}

// write counts a kept event and hands it to the sinks. p.mu is held.
func (p *Pipeline) write(ev *event.Event) error {
	switch ev.Kind {
	case event.Lost:
		p.addLost(ev.Lost)
		switch ev.Cause {
		case "":
			p.kernelLost, _ = saturate.AddCount(p.kernelLost, ev.Lost)
		case event.LostShutdown:
			p.atShutdown, _ = saturate.AddCount(p.atShutdown, ev.Lost)
		}
	case event.Flood:
		p.flooded, _ = saturate.AddCount(p.flooded, ev.Count)
	default:
		p.kept++
	}
	for _, s := range p.sinks {
		if err := s.WriteEvent(ev); err != nil {
			return err
		}
	}
	return nil
}

// writeAlert counts an alert of the event just written and hands it to the
// sinks. p.mu is held.
func (p *Pipeline) writeAlert(a *detect.Alert) error {
	if s := a.Severity; int(s) < len(p.alerts) {
		p.alerts[s]++
	}
	for _, s := range p.sinks {
		if err := s.WriteAlert(a); err != nil {
			return err
		}
	}
	return nil
}

// RecordedAlert passes on an alert read from a session, which follows the
// event that raised it: when the filter kept that event. A window's
// closing alert (Count) follows no event of its own (folded.go), nor does
// one raised at start-up (no Trigger).
func (p *Pipeline) RecordedAlert(a *detect.Alert) error {
	if a.Count == 0 && a.Trigger != nil && !p.lastKept || (a.Count != 0 || a.Trigger == nil) && !p.keepClosing(a) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrTakenOver
	}
	return p.writeAlert(a)
}

// Session tells the sinks that care which session the events that follow
// come from.
func (p *Pipeline) Session(h *session.Header) {
	for _, s := range p.sinks {
		if ss, ok := s.(SessionSink); ok {
			ss.Session(h)
		}
	}
}

// Unwritten counts the events a sink could not write (a full disk). It is
// safe to call from any goroutine.
func (p *Pipeline) Unwritten() uint64 {
	if l := p.losing.Load(); l != nil {
		return l.Unwritten()
	}
	return 0
}

// Flush pushes out what the sinks buffer, and what the hold-back no longer
// waits for: called when events pause.
func (p *Pipeline) Flush() error {
	if p.hold != nil {
		if err := p.hold.Flush(p.pass); err != nil {
			return err
		}
	}
	if err := p.writeClosing(false); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrTakenOver
	}
	return p.flushSinks()
}

func (p *Pipeline) flushSinks() error {
	for _, s := range p.sinks {
		if err := s.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// Finish releases what the hold-back still has and flushes: called once
// the stream has ended.
func (p *Pipeline) Finish() error {
	if p.hold != nil {
		if err := p.hold.Drain(p.pass); err != nil {
			return err
		}
	}
	if err := p.writeClosing(true); err != nil {
		return err
	}
	return p.Flush()
}

// TakeOver closes the pipeline to the goroutine running it, for a stop that
// will not wait for it: that goroutine counts and writes nothing more, and
// the caller may Settle. It polls for the lock held while an event is
// written until by; false if it never got it (a sink is blocked). On true
// the caller holds that lock for good.
func (p *Pipeline) TakeOver(by time.Time) bool {
	for !p.mu.TryLock() {
		if time.Now().After(by) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.closed = true
	return true
}

// Settle writes, after TakeOver, the loss markers for what the source had
// not delivered or finished, and flushes the sinks. handed counts the
// records the source handed over: those that never left the pipeline (the
// event being processed, those held back for a name) are lost at shutdown,
// with shutdown more the source lost so; kernel counts the kernel's drops.
// Whatever markers that went through already reported is not counted
// again.
func (p *Pipeline) Settle(handed, kernel, shutdown uint64, now time.Time) error {
	// Each record handed over finishes once, under the lock (fromRing
	// tells the pipeline which events are records).
	shutdown, _ = saturate.AddCount(shutdown, unreported(handed, p.finished))
	for _, m := range []event.Event{
		{Time: now, Kind: event.Lost, Lost: unreported(kernel, p.kernelLost)},
		{Time: now, Kind: event.Lost, Lost: unreported(shutdown, p.atShutdown), Cause: event.LostShutdown},
	} {
		if m.Lost == 0 {
			continue
		}
		if err := p.write(&m); err != nil {
			return err
		}
	}
	return p.flushSinks()
}

// unreported is how much of total the markers so far did not carry.
func unreported(total, reported uint64) uint64 {
	if total <= reported {
		return 0
	}
	return total - reported
}
