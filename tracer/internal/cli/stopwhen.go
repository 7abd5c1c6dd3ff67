package cli

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/pflag"
)

// stopWhen are trace's own stop conditions, tcpdump -c and Inspektor
// Gadget --timeout: either ends tracing as Ctrl-C does (the ring drained,
// the session closed, the summary said) and nstrace exits 0.
type stopWhen struct {
	count    uint64
	duration time.Duration
}

func (s *stopWhen) register(fl *pflag.FlagSet) {
	fl.Uint64VarP(&s.count, "count", "c", 0, "stop after showing N events (loss and flood markers do not count)")
	fl.DurationVar(&s.duration, "duration", 0, "stop after this long, e.g. 30s or 5m")
}

func (s *stopWhen) check() error {
	if s.duration < 0 {
		return usageError{errors.New("--duration: want a positive duration such as 30s")}
	}
	return nil
}

// context ends at --duration; the returned stop ends it at once (for -c).
func (s *stopWhen) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.duration > 0 {
		return context.WithTimeout(ctx, s.duration)
	}
	return context.WithCancel(ctx)
}
