package main

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/detect"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/filter"
	"github.com/nstrace/nstrace/tracer/metrics"
	"github.com/nstrace/nstrace/tracer/resolve"
	"github.com/nstrace/nstrace/tracer/session"
)

// pipeline carries each event from its source, the tracer or a session
// file, to the sinks, and each alert the rules raise on it right after it:
//
//	source → enrich (resolver, ...) → hold-back → detect → filter → sinks
//
// newPipeline builds it for trace, replay and report alike, so all three
// label, hold, detect and filter the same events the same way. Metrics
// observe it: they see every event and every alert, filtered or not.
//
// To add a sink (an OTLP exporter, say), give it the sink methods and
// append it to pipelineOptions.sinks: it then gets every kept event, each
// followed by the alerts raised on it, from the one goroutine that writes
// (see mu). It must not keep what it is given past the call, nor block:
// what it cannot take it queues or counts as lost.
//
// To add an enricher (runtime identity, say), append a func(*event.Event)
// to pipelineOptions.enrich: it runs after the resolver, before the
// hold-back, the rules and the filter, so --container and the rules see
// what it adds. With tracer/runtime, it asks the Watcher about the
// container the resolver found, which answers from its cache without
// waiting:
//
//	enrich = append(enrich, func(ev *event.Event) {
//		if ev.Container != nil {
//			if id, ok := watcher.Lookup(ev.Container.ID); ok { /* set the event's fields from id */ }
//		}
//	})
//
// ev.Container is shared with the resolver's cache: an enricher sets
// fields of the event, not of what the resolver lent it.
type pipeline struct {
	enrich  []func(*event.Event)
	hold    *resolve.Holdback // may delay events until a name shows up; nil: none
	detect  *detection        // nil: no rules run
	filter  *filter.Filter
	sinks   []sink
	observe observer // the metrics; nil: none
	// record is the session file among the sinks; metrics read it from
	// their own goroutine.
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
	warn          io.Writer // where warnings go; nil: none

	// alerts written, by severity: those of events the filter dropped
	// are not (the metrics count every alert).
	alerts [detect.Critical + 1]uint64

	// For a stop that takes over: how many events from the ring left the
	// pipeline (written, filtered out or dropped), and the loss markers
	// that went through, by cause: the kernel's drops and shutdown.
	finished               uint64
	kernelLost, atShutdown uint64
}

// pipelineOptions say what a pipeline is made of. Only the filter is
// needed; each stage left out is passed over.
type pipelineOptions struct {
	resolver *resolve.Resolver    // labels namespaces: the first enricher
	holdBack bool                 // with the resolver: wait briefly for names (live)
	enrich   []func(*event.Event) // after the resolver
	rules    *detect.Rules        // nil: no detection
	detect   []detect.Option      // the detector's view of the system, beyond the resolver
	filter   *filter.Filter
	sinks    []sink
	metrics  *metrics.Metrics // nil: none
	warn     io.Writer        // warnings and rule trouble: stderr
}

// sink is where kept events and their alerts go. It must not keep ev or a
// past the call.
type sink interface {
	WriteEvent(ev *event.Event) error
	WriteAlert(a *detect.Alert) error
	Flush() error
}

// sessionAware is a sink that notes which session the events that follow
// come from (the report, which lists them).
type sessionAware interface {
	Session(h *session.Header)
}

// observer watches the pipeline: every event before the filter, every
// alert raised. *metrics.Metrics is one.
type observer interface {
	Event(ev *event.Event)
	Alert(a *detect.Alert)
}

// newPipeline builds the pipeline o describes.
func newPipeline(o pipelineOptions) *pipeline {
	p := &pipeline{filter: o.filter, sinks: o.sinks, warn: o.warn}
	if o.resolver != nil {
		p.enrich = append(p.enrich, o.resolver.Resolve)
		if o.holdBack {
			p.hold = resolve.NewHoldback(o.resolver)
		}
	}
	p.enrich = append(p.enrich, o.enrich...)
	if o.metrics != nil {
		p.observe = o.metrics
	}
	if o.rules != nil {
		opts := o.detect
		if o.resolver != nil {
			opts = append([]detect.Option{detect.WithNamespaces(o.resolver)}, opts...)
		}
		p.detect = newDetection(o.rules, o.metrics, o.warn, opts...)
	}
	for _, s := range o.sinks {
		if r, ok := s.(*sessionSink); ok {
			p.record.Store(r)
		}
	}
	return p
}

// addSink adds a sink made once the pipeline exists: a recording, whose
// header names the pipeline's filter.
func (p *pipeline) addSink(s sink) {
	p.sinks = append(p.sinks, s)
	if r, ok := s.(*sessionSink); ok {
		p.record.Store(r)
	}
}

// errTakenOver ends a Run whose pipeline a stop took over.
var errTakenOver = errors.New("pipeline closed by the stop")

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

// pass runs a resolved event through detection and the filter to the
// sinks, with the alerts it raised.
func (p *pipeline) pass(ev *event.Event) error {
	if p.observe != nil {
		p.observe.Event(ev)
	}
	var alerts []detect.Alert
	if p.detect != nil {
		alerts = p.detect.check(ev)
		if p.observe != nil {
			for i := range alerts {
				p.observe.Alert(&alerts[i])
			}
		}
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
	return p.writeAlerts(alerts)
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

// writeAlerts counts the alerts of the event just written and hands them
// to the sinks. p.mu is held.
func (p *pipeline) writeAlerts(alerts []detect.Alert) error {
	for i := range alerts {
		if err := p.writeAlert(&alerts[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeAlert counts one alert and hands it to the sinks. p.mu is held.
func (p *pipeline) writeAlert(a *detect.Alert) error {
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

// recordedAlert passes on an alert read from a session, which follows the
// event that raised it: when the filter kept that event.
func (p *pipeline) recordedAlert(a *detect.Alert) error {
	if !p.lastKept {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errTakenOver
	}
	return p.writeAlert(a)
}

// session tells the sinks that care which session the events that follow
// come from.
func (p *pipeline) session(h *session.Header) {
	for _, s := range p.sinks {
		if sa, ok := s.(sessionAware); ok {
			sa.Session(h)
		}
	}
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
