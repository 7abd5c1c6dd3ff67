package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/internal/metrics"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
)

// metricsFlags are trace's Prometheus flags.
type metricsFlags struct {
	addr   string
	public bool
}

func (f *metricsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.addr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. "+metrics.DefaultAddr+" (loopback only unless --metrics-public)")
	fl.BoolVar(&f.public, "metrics-public", false, "with --metrics: allow an address other hosts can reach (the metrics tell what this host is doing)")
}

// check refuses bad flags before anything is loaded.
func (f *metricsFlags) check() error {
	switch {
	case f.addr == "" && f.public:
		return usageError{errors.New("--metrics-public needs --metrics ADDR")}
	case f.addr == "":
		return nil
	}
	err := metrics.CheckAddr(f.addr, f.public)
	if errors.Is(err, metrics.ErrNotLoopback) {
		return usageError{fmt.Errorf("--metrics %w (use 127.0.0.1:PORT, or add --metrics-public)", err)}
	}
	if err != nil {
		return usageError{fmt.Errorf("--metrics %w", err)}
	}
	return nil
}

// new makes the metrics the pipeline feeds; nil without --metrics.
func (f *metricsFlags) new() *metrics.Metrics {
	if f.addr == "" {
		return nil
	}
	m := metrics.New()
	m.SetBuildInfo(version)
	return m
}

// serve starts the endpoint of m, fed also by the tracer, the resolver and
// the recording (unwritten: events that did not reach the session file).
func (f *metricsFlags) serve(m *metrics.Metrics, t *tracer.Tracer, res *resolve.Resolver, unwritten func() uint64) (*metrics.Server, error) {
	if m == nil {
		return nil, nil
	}
	m.ObserveRing(t.RingFill)
	m.ObserveLost(func() map[string]uint64 {
		s := t.Stats()
		return map[string]uint64{"ring_full": s.RingFull, "pending_full": s.PendingFull, "shutdown": s.Shutdown, "write": unwritten(), "flood_full": s.FloodFull}
	})
	m.ObserveNamespaces(res.Inventory)
	return m.Serve(f.addr, f.public)
}
