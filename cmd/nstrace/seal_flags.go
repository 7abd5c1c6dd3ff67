package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/render"
	"github.com/nstrace/nstrace/tracer/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

// sealFlags are trace's flags for sealing the recording.
type sealFlags struct {
	keyFile  string
	every    int
	interval time.Duration
}

func (f *sealFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.keyFile, "seal-key-file", "", "with -w: seal the recording with this host's evolving key (made by nstrace verify --new-key FILE)")
	fl.IntVar(&f.every, "seal-every", seal.DefaultEvery, "with --seal-key-file: seal after this many records")
	fl.DurationVar(&f.interval, "seal-interval", seal.DefaultInterval, "with --seal-key-file: seal records that waited this long")
}

// apply takes this run's key from the key file (moving the file on to the
// next epoch) and sets the recording's sealer.
func (f *sealFlags) apply(write string, o *session.Options) error {
	if f.keyFile == "" {
		return nil
	}
	switch {
	case write == "":
		return usageError{errors.New("--seal-key-file needs -w FILE")}
	case f.every <= 0 || f.every > 100000:
		return usageError{errors.New("--seal-every: want 1 to 100000 records")}
	case f.interval <= 0:
		return usageError{errors.New("--seal-interval: want a positive duration such as 1s")}
	}
	rk, err := seal.TakeRunKey(f.keyFile)
	if err != nil {
		return fmt.Errorf("%w (make one with: nstrace verify --new-key %s)", err, render.Sanitize(f.keyFile))
	}
	o.Sealer = seal.NewSealer(&rk, seal.Options{Every: f.every, Interval: f.interval, Now: o.Now})
	return nil
}
