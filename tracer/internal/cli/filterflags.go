package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/internal/filter"
)

// filterFlags are the filters trace, replay and report share.
type filterFlags struct {
	pids       []uint
	comms      []string
	types      []string
	events     []string
	failed     bool
	containers []string
	namespaces []string
	identity   identityFilterFlags // runtimeflags.go
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
	f.identity.register(fl)
}

// options parses the flags; the time window is the caller's to add.
func (f *filterFlags) options() (filter.Options, error) {
	o := filter.Options{Comms: f.comms, Failed: f.failed, Containers: f.containers}
	f.identity.apply(&o)
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

// newFilter makes the pipeline's filter; a bad one is bad usage.
func newFilter(o filter.Options) (*filter.Filter, error) {
	f, err := filter.New(o)
	if err != nil {
		return nil, usageError{err}
	}
	return f, nil
}
