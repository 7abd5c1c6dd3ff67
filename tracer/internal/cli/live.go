package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/metrics"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
	"github.com/nstrace/nstrace/tracer/internal/runtime"
)

// liveTrace is a trace under way: the tracer, the pipeline it feeds and
// what the pipeline writes to.
type liveTrace struct {
	cfg    *traceConfig
	t      *tracer.Tracer
	p      *pipeline.Pipeline
	det    *detection       // nil: detection off
	rec    *sessionSink     // nil: not recording
	rt     *runtime.Watcher // nil: no runtime asked
	export *exportSink      // nil: no OTLP export
	srv    *metrics.Server  // nil: no metrics
	sigs   chan os.Signal
	cancel context.CancelFunc
	// stuck: the stop gave up on the pipeline, which is still running:
	// leave its sinks alone.
	stuck bool
}

// openLive loads and attaches the probes and builds the pipeline behind
// them; cleanup undoes it, whatever went wrong.
func openLive(ctx context.Context, cfg *traceConfig) (_ *liveTrace, err error) {
	lt := &liveTrace{cfg: cfg}
	defer func() {
		if err != nil {
			lt.cleanup()
		}
	}()
	if err := lt.openTracer(); err != nil {
		return nil, err
	}
	// The first stop signal starts a bounded drain, a second ends it (stop.go).
	lt.sigs = make(chan os.Signal, 2)
	signal.Notify(lt.sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	ctx, lt.cancel = context.WithCancel(ctx)
	res, inv, err := liveResolver(ctx)
	if err != nil {
		return nil, err
	}
	warnUnreadable(os.Stderr, inv)
	m := cfg.flags.metrics.new()
	lt.p = pipeline.New(lt.pipelineOptions(res, inv, m))
	if lt.srv, err = cfg.flags.metrics.serve(m, lt.t, res, lt.p.Unwritten); err != nil {
		return nil, err
	}
	if err := lt.addRecording(res); err != nil {
		return nil, err
	}
	if err := lt.addExport(ctx, m); err != nil {
		return nil, err
	}
	return lt, nil
}

// openTracer loads and attaches the probes, and says what that changed on
// the system (a tracefs mounted, say).
func (lt *liveTrace) openTracer() (err error) {
	if lt.t, err = tracer.Open(lt.cfg.tracer); err != nil {
		return err
	}
	for _, note := range lt.t.Notes() {
		fmt.Fprintf(os.Stderr, "nstrace: %s\n", note)
	}
	return nil
}

// pipelineOptions starts what the pipeline enriches and detects with (the
// runtime watcher, the detector) and gives the options it is built from.
func (lt *liveTrace) pipelineOptions(res *resolve.Resolver, inv *inventory.Inventory, m *metrics.Metrics) pipeline.Options {
	f := lt.cfg.flags
	waiters, namespaces := lt.startRuntimes(res)
	lt.det = newDetection(lt.cfg.rules, m, os.Stderr,
		detect.WithNamespaces(namespaces), detect.WithInventory(inv), detect.WithProc("/"), detect.WithWallClock())
	o := pipeline.Options{Resolver: res, HoldBack: true, Waiters: waiters, Detector: lt.det.detector(), Filter: lt.cfg.filter,
		Observer: observer(m), Warn: os.Stderr}
	if f.eventDelay > 0 {
		o.Enrich = append(o.Enrich, func(*event.Event) { time.Sleep(f.eventDelay) })
	}
	if lt.cfg.out != nil {
		o.Sinks = append(o.Sinks, lt.cfg.out)
	}
	return o
}

// startRuntimes watches the container runtimes asked for, if any: the
// pipeline then waits for their names, and detection sees namespaces
// labelled with them.
func (lt *liveTrace) startRuntimes(res *resolve.Resolver) (waiters []pipeline.Waiter, namespaces detect.Namespaces) {
	namespaces = res
	if lt.rt = startRuntimes(lt.cfg.runtimes, os.Stderr); lt.rt != nil {
		// The containers running now are named from the first event: the
		// runtimes whose socket exists list them first, within a bound.
		lt.rt.WaitListed(time.Now().Add(runtimeListWait))
		waiters = append(waiters, lt.rt.Enricher())
		namespaces = labelledNamespaces{res, lt.rt.Enricher()}
	}
	return waiters, namespaces
}

// addRecording records the session with -w.
func (lt *liveTrace) addRecording(res *resolve.Resolver) (err error) {
	if lt.cfg.flags.write == "" {
		return nil
	}
	h := recordHeader(lt.t, lt.cfg.filter)
	if lt.rec, err = startRecording(lt.cfg.flags.write, lt.cfg.record, h, labelledInventory(res, lt.rt), lt.cfg.rules, os.Stderr); err != nil {
		return err
	}
	lt.p.AddSink(lt.rec)
	return nil
}

// addExport exports the events over OTLP when asked, observed by the
// metrics.
func (lt *liveTrace) addExport(ctx context.Context, m *metrics.Metrics) (err error) {
	if lt.cfg.export == nil {
		return nil
	}
	if lt.export, err = startExport(ctx, lt.cfg.export, os.Stderr); err != nil {
		return err
	}
	lt.p.AddSink(lt.export)
	lt.export.observe(m)
	return nil
}

// run traces until a stop signal and a bounded drain (stop.go).
func (lt *liveTrace) run(ctx context.Context) error {
	if lt.cfg.readyFile != "" {
		if err := writeReadyFile(lt.cfg.readyFile); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "nstrace: %s\n", startLine(lt.t.Hooks()))
	if lt.srv != nil {
		fmt.Fprintf(os.Stderr, "nstrace: metrics at http://%s/metrics\n", lt.srv.Addr())
	}
	if out := lt.cfg.out; out != nil {
		if err := out.start(); err != nil {
			return err
		}
	}
	// A reader that goes away (| head) ends tracing like Ctrl-C, with the
	// session closed properly, instead of SIGPIPE killing us mid-record.
	signal.Ignore(syscall.SIGPIPE)
	err := runTracer(ctx, lt.t, lt.p, lt.sigs, lt.cfg.flags.drainTimeout)
	if errors.Is(err, errSinkBlocked) {
		lt.stuck = true // the pipeline is still running: touch none of it
	}
	if errors.Is(err, syscall.EPIPE) {
		err = nil
	}
	return err
}

// close ends the recording and says what the trace saw.
func (lt *liveTrace) close(runErr error) error {
	if lt.stuck {
		return runErr
	}
	var closeErr error
	if lt.rec != nil {
		closeErr = lt.rec.Close()
	}
	fmt.Fprintf(os.Stderr, "nstrace: %s\n", lt.p.Summary())
	if note := runtimeSummary(lt.rt); note != "" {
		fmt.Fprintf(os.Stderr, "nstrace: %s\n", note)
	}
	if sum := alertSummary(lt.p, lt.det); sum != "" {
		fmt.Fprintf(os.Stderr, "nstrace: %s\n", sum)
	}
	if lt.export != nil {
		closeErr = errors.Join(closeErr, lt.export.finish(lt.p, lt.cfg.flags.drainTimeout))
	}
	if w := lt.rec; w != nil && closeErr == nil && !w.failed {
		path := lt.cfg.flags.write
		fmt.Fprintf(os.Stderr, "nstrace: session saved to %s\n", render.Sanitize(strings.Join(savedFiles(path, w.w), " ")))
	}
	return errors.Join(runErr, closeErr)
}

// cleanup releases what openLive took: the recording (unless the stop
// left the pipeline running, or close ended it), the metrics endpoint, the
// signals and the tracer.
func (lt *liveTrace) cleanup() {
	if lt.rec != nil && !lt.stuck && !lt.rec.closed {
		lt.rec.Close()
	}
	if lt.export != nil {
		lt.export.abandon()
	}
	if lt.srv != nil {
		lt.srv.Close()
	}
	if lt.cancel != nil {
		lt.cancel()
	}
	if lt.sigs != nil {
		signal.Stop(lt.sigs)
	}
	if lt.t != nil {
		lt.t.Close()
	}
	if lt.rt != nil {
		lt.rt.Close()
	}
}
