package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/export"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/ring"
	"github.com/nstrace/nstrace/tracer/internal/runtime"
	"github.com/nstrace/nstrace/tracer/session"
)

type traceFlags struct {
	output    string
	readyFile string
	ringSize  string
	// cpuProfile profiles the consumer, for speed work (hidden flag).
	cpuProfile string
	eventDelay time.Duration // hidden: tests make the consumer slow with it
	hooks      string
	filter     filterFlags

	write      string // session file; "-" for stdout
	quiet      bool
	force      bool
	append     bool
	rotateSize string
	rotateKeep int

	drainTimeout time.Duration

	alerts  alertFlags   // detection.go
	metrics metricsFlags // metricsflags.go
	flood   floodFlags   // flood.go
	seal    sealFlags    // seal_flags.go
	stop    stopWhen     // stopwhen.go
	runtime runtimeFlags // runtimeflags.go
	otlp    otlpFlags    // otlp_flags.go
}

func newTraceCommand() *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace [flags]",
		Short: "Stream namespace creation and join events live (the default command)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("trace takes no arguments, got %q", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrace(cmd.Context(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text (compact, fits the terminal), wide (everything) or json")
	fl.StringVar(&f.readyFile, "ready-file", "", "create this file once every probe is attached")
	fl.StringVar(&f.ringSize, "ring-size", "16M", "ring buffer size: a power of two from a page to 2G, in bytes or with K, M or G")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of nstrace itself to this file")
	_ = fl.MarkHidden("cpuprofile") // fails only for a flag not defined; it is, just above
	fl.StringVar(&f.hooks, "hooks", "auto", "hook set: auto (fentry where the kernel allows, else tracepoints), tracepoint, or fentry")
	fl.StringVarP(&f.write, "write", "w", "", "record the session to this file (.gz, .zst: compressed; -: standard output)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "show no events (with -w: only record)")
	fl.BoolVar(&f.force, "force", false, "with -w: overwrite an existing file")
	fl.BoolVar(&f.append, "append", false, "with -w: add this session to the end of an existing file")
	fl.StringVar(&f.rotateSize, "rotate-size", "", "with -w: start a new file every SIZE bytes (e.g. 100M); files are numbered FILE.000001...")
	fl.IntVar(&f.rotateKeep, "rotate-keep", 0, "with --rotate-size: keep only the newest N files")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", tracer.DefaultDrainTimeout, "on a stop signal, deliver what the ring holds for at most this long; the rest is counted lost (a second signal stops at once)")
	fl.DurationVar(&f.eventDelay, "test-event-delay", 0, "slow the processing of every event by this much (for tests of bounded stops)")
	_ = fl.MarkHidden("test-event-delay") // defined just above
	f.filter.register(fl, true)
	f.alerts.register(fl, false, true)
	f.metrics.register(fl)
	f.flood.register(fl)
	f.seal.register(fl)
	f.stop.register(fl)
	f.runtime.register(fl)
	f.otlp.register(fl)
	return cmd
}

// runTrace traces until a stop: flags → config → open → run → close.
func runTrace(ctx context.Context, f *traceFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	lt, err := openLive(ctx, cfg)
	if err != nil {
		return err
	}
	defer lt.cleanup()
	// --duration counts from when tracing starts, after loading.
	runCtx, stop := f.stop.context(ctx)
	defer stop()
	lt.p.SetLimit(f.stop.count, stop)
	return lt.close(lt.run(runCtx))
}

// traceConfig is what the trace flags ask for, all checked before
// anything is loaded.
type traceConfig struct {
	flags     *traceFlags
	tracer    tracer.Options
	record    session.Options
	filter    *filter.Filter
	rules     *detect.Rules // nil: detection off
	out       *output       // nil: nothing shown (-q, -w -)
	readyFile string
	runtimes  []runtime.Endpoint // none: ask no runtime
	export    *export.Options    // nil: no OTLP export
}

// config checks the flags.
func (f *traceFlags) config() (*traceConfig, error) {
	c := &traceConfig{flags: f, readyFile: f.readyFile}
	var err error
	if err := f.outputConfig(c); err != nil {
		return nil, err
	}
	if f.readyFile != "" {
		// Before anything is loaded; checked again when written.
		if err := checkReadyPath(f.readyFile); err != nil {
			return nil, err
		}
	}
	if c.runtimes, err = f.runtime.config(); err != nil {
		return nil, err
	}
	if c.rules, err = f.alerts.load(); err != nil {
		return nil, err
	}
	if err := f.stop.check(); err != nil {
		return nil, err
	}
	if err := f.metrics.check(); err != nil {
		return nil, err
	}
	if c.export, err = f.otlp.config(); err != nil {
		return nil, err
	}
	opts, err := f.filter.options()
	if err != nil {
		return nil, err
	}
	if c.filter, err = newFilter(opts); err != nil {
		return nil, err
	}
	if c.tracer, err = f.tracerOptions(opts); err != nil {
		return nil, err
	}
	return c, nil
}

// outputConfig checks where the trace goes: the recording (-w, sealed or
// not) and what is shown, none with -q or when the recording takes
// standard output.
func (f *traceFlags) outputConfig(c *traceConfig) (err error) {
	if c.record, err = f.recordOptions(); err != nil {
		return err
	}
	if err := f.seal.apply(f.write, &c.record); err != nil {
		return err
	}
	if c.out, err = newOutput(f.output, os.Stdout); err != nil {
		return err
	}
	c.out.alertsOnly = f.alerts.alertsOnly
	if f.quiet || f.write == "-" {
		c.out = nil
	}
	return nil
}

// tracerOptions checks the flags the probes are loaded with. The kernel
// drops what it can cheaply: one process, some types. The pipeline's
// filter repeats that, so replaying agrees with live.
func (f *traceFlags) tracerOptions(opts filter.Options) (tracer.Options, error) {
	ringSize, err := parseRingSize(f.ringSize)
	if err != nil {
		return tracer.Options{}, err
	}
	if f.drainTimeout < 0 {
		return tracer.Options{}, usageError{fmt.Errorf("--drain-timeout %v: want a duration of 0 or more", f.drainTimeout)}
	}
	o := tracer.Options{RingSize: ringSize, Types: opts.Types, Hooks: f.hooks, DrainTimeout: f.drainTimeout}
	if f.drainTimeout == 0 {
		o.DrainTimeout = -1 // none at all
	}
	if err := f.flood.apply(&o); err != nil {
		return tracer.Options{}, err
	}
	if len(opts.Pids) == 1 {
		o.Pid = opts.Pids[0]
	}
	return o, nil
}

// recordOptions checks the recording flags before anything is loaded.
func (f *traceFlags) recordOptions() (session.Options, error) {
	var o session.Options
	if f.write == "" {
		if f.force || f.append || f.rotateSize != "" || f.rotateKeep != 0 {
			return o, usageError{errors.New("--force, --append, --rotate-size and --rotate-keep need -w FILE")}
		}
		return o, nil
	}
	o.Force, o.Append, o.RotateKeep = f.force, f.append, f.rotateKeep
	switch {
	case f.force && f.append:
		return o, usageError{errors.New("--force and --append contradict each other")}
	case f.write == "-" && (f.force || f.append || f.rotateSize != ""):
		return o, usageError{errors.New("-w - writes to standard output: it cannot be overwritten, appended to or rotated")}
	case f.rotateKeep < 0:
		return o, usageError{errors.New("--rotate-keep: want a number of files")}
	case f.rotateKeep > 0 && f.rotateSize == "":
		return o, usageError{errors.New("--rotate-keep needs --rotate-size")}
	}
	// Fail before loading anything when the file is in the way.
	if _, err := os.Lstat(f.write); err == nil && f.write != "-" && !f.force && !f.append && f.rotateSize == "" {
		return o, usageError{fmt.Errorf("%s: %w (use --force to overwrite)", render.Sanitize(f.write), session.ErrExists)}
	}
	if f.rotateSize != "" {
		n, err := parseSize(f.rotateSize)
		if err != nil {
			return o, usageError{fmt.Errorf("--rotate-size: %w", err)}
		}
		o.RotateSize = n
	}
	return o, nil
}

// minRotateSize refuses sizes that are surely a unit mistake (100 for 100M).
const minRotateSize = 4 << 10

// parseSize reads a rotation size: a byte count of at least 4K.
func parseSize(s string) (int64, error) {
	n, err := parseBytes(s)
	if err != nil {
		return 0, err
	}
	if n < minRotateSize {
		return 0, fmt.Errorf("%q is below 4K; did you mean %sM?", s, strings.TrimRight(s, "KMGTiBkmgtb"))
	}
	return n, nil
}

// parseBytes reads a byte count: 1048576, 512K, 100M, 2G (powers of 1024;
// KiB, MB and the like are read the same way).
func parseBytes(s string) (int64, error) {
	num := strings.TrimRight(s, "KMGTiBkmgtb")
	unit := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s[len(num):], "B"), "i"))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: want a size such as 100M", s)
	}
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
	sh, ok := shift[unit]
	if !ok || n > 1<<(62-sh) {
		return 0, fmt.Errorf("%q: want a size such as 100M", s)
	}
	return n << sh, nil
}

// parseRingSize reads --ring-size and checks it as the kernel will.
func parseRingSize(s string) (int, error) {
	n, err := parseBytes(s)
	if err == nil {
		err = ring.CheckSize(n)
	}
	if err != nil {
		return 0, usageError{fmt.Errorf("--ring-size: %w", err)}
	}
	return int(n), nil
}

// recordHeader describes this recording: the machine, the hooks, the filter.
func recordHeader(t *tracer.Tracer, filt *filter.Filter) session.Header {
	h := session.LocalHeader(version)
	for _, hk := range t.Hooks() {
		sh := session.Hook{Name: hk.Name, Via: hk.Via, Required: hk.Required, Attached: hk.Attached}
		if hk.Err != nil {
			sh.Error = hk.Err.Error()
		}
		h.Hooks = append(h.Hooks, sh)
	}
	h.Filter = filt.String()
	return h
}

func createSession(path string, opts session.Options) (*session.Writer, error) {
	if path == "-" {
		return session.NewWriter(os.Stdout, opts)
	}
	w, err := session.Create(path, opts)
	if errors.Is(err, session.ErrExists) {
		return nil, usageError{err}
	}
	return w, err
}

// savedFiles names what a recording left: one file, or the rotated ones.
func savedFiles(path string, w *session.Writer) []string {
	if path == "-" {
		return []string{"standard output"}
	}
	files := w.Files()
	if len(files) > 3 {
		return []string{files[0], "...", files[len(files)-1], fmt.Sprintf("(%d files)", len(files))}
	}
	return files
}

// startCPUProfile profiles this process until the returned func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
