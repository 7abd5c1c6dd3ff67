package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

// sealFlags are trace's flags for sealing the recording.
type sealFlags struct {
	on       bool
	keyFile  string
	every    int
	interval time.Duration
}

func (f *sealFlags) register(fl *pflag.FlagSet) {
	fl.BoolVar(&f.on, "seal", true, "with -w: write the seals' hash chain, so that nstrace verify finds edits (--seal=false: none)")
	fl.StringVar(&f.keyFile, "seal-key-file", "", "with -w: also sign the seals with this host's evolving key (made by nstrace verify --new-key FILE)")
	fl.IntVar(&f.every, "seal-every", seal.DefaultEvery, "with -w: seal after this many records")
	fl.DurationVar(&f.interval, "seal-interval", seal.DefaultInterval, "with -w: the seal epoch: a seal at least this often, records or none")
}

// apply sets the recording's sealer: the hash chain alone, or signed with
// this run's key from the key file (moving the file on to the next epoch).
func (f *sealFlags) apply(write string, o *session.Options) error {
	switch {
	case f.keyFile != "" && !f.on:
		return usageError{errors.New("--seal-key-file and --seal=false do not mix")}
	case f.keyFile != "" && write == "":
		return usageError{errors.New("--seal-key-file needs -w FILE")}
	case f.every <= 0 || f.every > 100000:
		return usageError{errors.New("--seal-every: want 1 to 100000 records")}
	case f.interval < time.Millisecond:
		return usageError{errors.New("--seal-interval: want a duration of 1ms or more, such as 1s")}
	case write == "" || !f.on:
		return nil
	case f.keyFile == "":
		*o = seal.Sealed(*o, seal.NewSealer(nil, seal.Options{Every: f.every, Interval: f.interval, Now: o.Now}))
		return nil
	}
	rk, err := seal.TakeRunKey(f.keyFile)
	if err != nil {
		return fmt.Errorf("%w (make one with: nstrace verify --new-key %s)", err, render.Sanitize(f.keyFile))
	}
	*o = seal.Sealed(*o, seal.NewSealer(&rk, seal.Options{Every: f.every, Interval: f.interval, Now: o.Now}))
	return nil
}
