package main

import (
	"fmt"

	"github.com/spf13/pflag"

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

	seen, kept uint64 // events, loss markers not counted
	lost       uint64 // records the kernel dropped, from loss markers
	flooded    uint64 // events counted in flood records instead of shown
}

// sink is where kept events go. It must not keep ev past the call.
type sink interface {
	WriteEvent(ev *event.Event) error
	Flush() error
}

// event runs ev through the pipeline. It allocates nothing per event.
func (p *pipeline) event(ev *event.Event) error {
	for _, fn := range p.enrich {
		fn(ev)
	}
	if ev.Kind == event.Destroy && len(ev.Changes) == 0 {
		return nil // an inode the resolver knows as no namespace
	}
	if p.hold != nil {
		return p.hold.Event(ev, p.pass)
	}
	return p.pass(ev)
}

// pass runs a resolved event through the filter to the sinks.
func (p *pipeline) pass(ev *event.Event) error {
	if p.alerts != nil {
		p.alerts.check(ev)
	}
	if ev.Kind != event.Lost && ev.Kind != event.Flood {
		p.seen++
	}
	if !p.filter.Keep(ev) {
		return nil
	}
	if ev.Kind == event.Lost {
		p.lost += ev.Lost
	} else if ev.Kind == event.Flood {
		p.flooded += ev.Count
	} else {
		p.kept++
	}
	for _, s := range p.sinks {
		if err := s.WriteEvent(ev); err != nil {
			return err
		}
	}
	if p.alerts != nil {
		return p.alerts.emit()
	}
	return nil
}

// flush pushes out what the sinks buffer: called when events pause.
func (p *pipeline) flush() error {
	if p.hold != nil {
		if err := p.hold.Flush(p.pass); err != nil {
			return err
		}
	}
	for _, s := range p.sinks {
		if err := s.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// summary is the closing line: what was shown and what was lost.
func (p *pipeline) summary() string {
	s := fmt.Sprintf("%d events", p.kept)
	if p.kept != p.seen {
		s += fmt.Sprintf(" (%d filtered out)", p.seen-p.kept)
	}
	if p.flooded != 0 {
		s += fmt.Sprintf(", %d past their share counted in flood records", p.flooded)
	}
	return s + fmt.Sprintf(", %d lost", p.lost)
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
