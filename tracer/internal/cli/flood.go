package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer"
)

// floodFlags set each source's share of the ring (see the README's Floods).
type floodFlags struct {
	rate, burst int
}

func (f *floodFlags) register(fl *pflag.FlagSet) {
	fl.IntVar(&f.rate, "flood-rate", tracer.DefaultFloodRate,
		"events a second each uid and each cgroup may send before the rest are counted in flood records; 0: no limit")
	fl.IntVar(&f.burst, "flood-burst", tracer.DefaultFloodBurst, "events each uid and each cgroup may send at once")
}

// apply puts the shares in o.
func (f *floodFlags) apply(o *tracer.Options) error {
	if f.rate < 0 || f.rate > 1_000_000_000 {
		return usageError{fmt.Errorf("--flood-rate %d: want 0 (no limit) to 1000000000 events a second", f.rate)}
	}
	if f.burst < 1 {
		return usageError{fmt.Errorf("--flood-burst %d: want at least 1", f.burst)}
	}
	o.FloodRate, o.FloodBurst = f.rate, f.burst
	if f.rate == 0 {
		o.FloodRate = -1
	}
	return nil
}
