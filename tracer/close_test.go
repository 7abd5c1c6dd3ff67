package tracer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// Run detaches the hooks when its context ends, on a goroutine of its own;
// Close detaches them too. A callback that fails just as the context is
// cancelled makes Run return while that detach may still be going: Close
// must then neither race with it nor return before it is done. Run with
// -race, the detector reports the overlap whenever the two are unordered.
func TestCloseAfterRunFailsWhileCancelling(t *testing.T) {
	testenv.RequireKernel(t)
	errStop := errors.New("callback failed")
	for i := range 8 {
		tr, err := tracer.Open(tracer.Options{})
		if err != nil {
			t.Fatalf("open tracer: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = tr.Run(ctx, func(*event.Event) error { return nil }, func() error {
			cancel()
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Errorf("round %d: Run returned %v, want the callback's error", i, err)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("round %d: close: %v", i, err)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("round %d: second close: %v", i, err)
		}
	}
}
