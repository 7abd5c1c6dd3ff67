package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/export"
	"github.com/nstrace/nstrace/tracer/internal/metrics"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/saturate"
)

// config checks the OTLP flags and environment before anything is
// loaded; nil when no collector is named.
func (f *otlpFlags) config() (*export.Options, error) {
	o, enabled, err := f.options(version)
	if err != nil || !enabled {
		return nil, err
	}
	// Check touches neither the network nor the spool: what it refuses
	// is the flags' or the environment's doing.
	if err := o.Check(context.Background()); err != nil {
		msg := strings.TrimSuffix(err.Error(), ": "+export.ErrUsage.Error())
		return nil, usageError{fmt.Errorf("otlp: %s", msg)}
	}
	// Created before anything is loaded, so that a spool that cannot be
	// is said at once; only we may read what it holds.
	if err := os.MkdirAll(o.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("otlp: create spool: %w", err)
	}
	return &o, nil
}

// exportSink is the OTLP exporter as a sink of the pipeline: every kept
// event, loss marker and alert goes to its spool (never waiting for the
// network), and at the end the exit summary.
type exportSink struct {
	*export.Exporter
	dir    string
	stderr io.Writer
	lost   uint64 // records the loss markers written so far count
	closed bool

	// The stop signals, seen here too (signal.Notify tells every channel):
	// the first starts the drain timeout that bounds the whole stop, the
	// ring's drain and the export's together; a second ends it at once.
	sigs      chan os.Signal
	stopAt    atomic.Int64  // unix ns of the first signal; 0: none yet
	hurry     chan struct{} // closed at the second signal
	hurryOnce sync.Once
}

// startExport opens the spool and starts sending.
func startExport(ctx context.Context, o *export.Options, stderr io.Writer) (*exportSink, error) {
	o.Logf = func(format string, args ...any) {
		fmt.Fprintf(stderr, "nstrace: %s\n", render.Sanitize(fmt.Sprintf(format, args...)))
	}
	e, err := export.New(ctx, *o)
	if err != nil {
		return nil, fmt.Errorf("otlp: %w", err)
	}
	s := &exportSink{Exporter: e, dir: o.SpoolDir, stderr: stderr,
		sigs: make(chan os.Signal, 2), hurry: make(chan struct{})}
	signal.Notify(s.sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go s.watch()
	return s, nil
}

// watch notes the stop signals until the sink is closed.
func (s *exportSink) watch() {
	for range s.sigs {
		if s.stopAt.CompareAndSwap(0, time.Now().UnixNano()) {
			continue
		}
		s.hurryOnce.Do(func() { close(s.hurry) })
	}
}

func (s *exportSink) WriteEvent(ev *event.Event) error {
	if ev.Kind == event.Lost {
		s.lost, _ = saturate.AddCount(s.lost, ev.Lost)
	}
	return s.Exporter.WriteEvent(ev)
}

// finish sends the exit summary and what the spool holds until everything
// is acknowledged, the drain timeout passes or a stop signal comes; what
// is left waits in the spool for the next start, and is said so.
func (s *exportSink) finish(p *pipeline.Pipeline, drain time.Duration) error {
	if s.closed {
		return nil
	}
	c := p.Counts()
	lost, _ := saturate.AddCount(s.lost, p.Unwritten())
	_ = s.WriteSummary(export.Summary{Time: time.Now(), Events: c.Kept, Filtered: c.Seen - c.Kept,
		Lost: lost, Alerts: c.Alerts}) // it only appends to the spool: never fails
	deadline := time.Now().Add(max(drain, 0))
	if at := s.stopAt.Load(); at != 0 {
		deadline = time.Unix(0, at).Add(max(drain, 0))
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	go func() {
		select {
		case <-s.hurry:
			cancel()
		case <-ctx.Done():
		}
	}()
	return s.close(ctx)
}

func (s *exportSink) close(ctx context.Context) error {
	s.closed = true
	signal.Stop(s.sigs)
	close(s.sigs)
	err := s.Close(ctx)
	st := s.Stats()
	if st.Dropped > 0 || st.Rejected > 0 {
		fmt.Fprintf(s.stderr, "nstrace: otlp: %d records sent, %d dropped from the full spool, %d rejected by the collector\n",
			st.Sent, st.Dropped, st.Rejected)
	}
	if errors.Is(err, export.ErrPending) {
		fmt.Fprintf(s.stderr, "nstrace: otlp: %v %s for the next start\n", err, render.Sanitize(s.dir))
		return nil
	}
	return err
}

// abandon writes out what the exporter buffers and stops at once: the
// spool keeps what is unsent.
func (s *exportSink) abandon() {
	if s.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.close(ctx) // what is pending is said by close; nothing else to do on the way out
}

// observe publishes the exporter's health in m (nil: no metrics).
func (s *exportSink) observe(m *metrics.Metrics) {
	if m == nil {
		return
	}
	m.ObserveExport(func() metrics.ExportStats {
		st := s.Stats()
		return metrics.ExportStats{Spooled: st.Spooled, Sent: st.Sent, Rejected: st.Rejected, Dropped: st.Dropped,
			Retries: st.Retries, Queue: st.Queue, SpoolBytes: st.SpoolBytes}
	})
}
