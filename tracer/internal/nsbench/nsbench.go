// Package nsbench is the code of cmd/nsbench, which runs it through
// tracer/command.Nsbench.
package nsbench

import (
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

//go:embed peer.bt
var peerScript []byte

// Main runs the command on os.Args and returns its exit status.
func Main() int {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "nsbench: %v\n", err)
		return 1
	}
	return 0
}

// options are the flags, resolved.
type options struct {
	nstrace   string
	baseline  string // another nstrace build for extra columns; "" for none
	bpftrace  string // "" to leave the peer out
	script    string // the peer script; "" for the embedded peer.bt
	rounds    int
	duration  time.Duration
	cpu       int // the workloads' CPU; -1: no pinning
	memEvents int64
	memStep   int64
	memTime   time.Duration
	costs     bool
	floor     bool   // the floor column: empty programs where nstrace hooks
	hooks     string // the hook set of the floor column
	json      bool
	workloads []workload
	export    exportOptions // export.go
	reports   []int         // synthetic session sizes for the report rows
	sealTime  time.Duration
	only      string

	self string // this program, re-executed for each workload
	dir  string // scratch files
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("nsbench", flag.ContinueOnError)
	fs.StringVar(&o.nstrace, "nstrace", "./nstrace", "the nstrace binary to measure (make build makes ./nstrace)")
	fs.StringVar(&o.baseline, "baseline", "", "another nstrace binary (e.g. main's build) to compare against in the same run")
	fs.StringVar(&o.bpftrace, "bpftrace", "bpftrace", "the bpftrace binary for the peer column; empty to leave it out")
	fs.StringVar(&o.script, "peer-script", "", "bpftrace script for the peer column (default: the embedded tracer/internal/nsbench/peer.bt)")
	fs.BoolVar(&o.floor, "floor", true, "add the floor column: empty programs on the attach points nstrace uses")
	fs.StringVar(&o.hooks, "hooks", "auto", "the floor's hook set, as nstrace's --hooks (auto, tracepoint, fentry)")
	fs.IntVar(&o.rounds, "rounds", 7, "rounds per workload; each round runs every column once")
	fs.DurationVar(&o.duration, "duration", 400*time.Millisecond, "how long each workload run lasts")
	fs.IntVar(&o.cpu, "cpu", 0, "CPU for the workloads (tracers get the others); -1: no pinning")
	fs.Int64Var(&o.memEvents, "mem-events", 5_000_000, "events for the memory row (0: skip it)")
	fs.Int64Var(&o.memStep, "mem-step", 1_000_000, "events between memory samples")
	fs.DurationVar(&o.memTime, "mem-timeout", 75*time.Second, "longest the memory row may run")
	fs.BoolVar(&o.costs, "costs", true, "measure each BPF program's kernel run time during each workload")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	o.export.register(fs)
	reports := fs.String("report-events", "1000000,6000000", "events of the synthetic sessions `nstrace report` is timed on, comma-separated (empty: none)")
	fs.DurationVar(&o.sealTime, "seal-duration", 2*time.Second, "how long each run of the sealing rows lasts: long, so that starting and stopping weigh little per record")
	fs.StringVar(&o.only, "only", "", "run only these sections, comma-separated: table (workloads, costs, memory), export, report, seal (default: all)")
	only := fs.String("workloads", "", "comma-separated workloads to run (default all: "+workloadNames()+")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.rounds < 1 || o.duration <= 0 {
		return nil, errors.New("-rounds and -duration must be positive")
	}
	if o.cpu >= runtime.NumCPU() {
		return nil, fmt.Errorf("-cpu %d: this machine has %d CPUs", o.cpu, runtime.NumCPU())
	}
	for _, f := range strings.Split(*reports, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-report-events: %q is not a count of events", f)
		}
		o.reports = append(o.reports, n)
	}
	o.workloads = workloads
	if *only != "" {
		o.workloads = nil
		for _, name := range strings.Split(*only, ",") {
			w, ok := findWorkload(strings.TrimSpace(name))
			if !ok {
				return nil, fmt.Errorf("unknown workload %q (want some of %s)", name, workloadNames())
			}
			o.workloads = append(o.workloads, w)
		}
	}
	return o, nil
}

func workloadNames() string {
	var names []string
	for _, w := range workloads {
		names = append(names, w.Name)
	}
	return strings.Join(names, ",")
}

func run(args []string) error {
	if len(args) > 0 && args[0] == childCommand {
		return runChild(args[1:])
	}
	if len(args) > 0 && args[0] == floorCommand {
		return runFloor(args[1:])
	}
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("run as root: nstrace and bpftrace load BPF programs")
	}
	if o.self, err = os.Executable(); err != nil {
		return err
	}
	if _, err := os.Stat(o.nstrace); err != nil {
		return fmt.Errorf("nstrace binary: %w (make build, or pass -nstrace PATH)", err)
	}
	if o.dir, err = os.MkdirTemp("", "nsbench-"); err != nil {
		return err
	}
	defer os.RemoveAll(o.dir)
	if o.export.only {
		return runExportOnly(o)
	}

	tracers, notes, err := chooseTracers(o)
	if err != nil {
		return err
	}
	defer o.export.stopTableCollector()
	res := newResults(tracers)
	res.Notes = append(res.Notes, notes...)
	if err := pinHarness(o.cpu); err != nil {
		return err
	}
	res.note("%s; each run %v, %d rounds (columns alternate, reversed every other round), medians reported; ratio = untraced ops/s ÷ traced ops/s",
		pinning(o.cpu), o.duration, o.rounds)
	res.note("load average at start: %s", loadAverage())
	res.note("delivered counts the workload's own events (pid or ppid); lost is what the tracer reported dropping, for every process on the machine")

	if o.section("table") {
		if err := runTable(o, tracers, res); err != nil {
			return err
		}
	}
	if o.section("export") {
		if o.export.collector != "" {
			if res.Export, err = measureExport(o); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		} else {
			res.note("no export row: no OpenTelemetry Collector (go test ./tracer/internal/export builds one; or -otelcol PATH)")
		}
	}
	if o.section("seal") {
		if res.Seals, err = measureSealCost(o); err != nil {
			return fmt.Errorf("sealing: %w", err)
		}
	}
	if o.section("report") && len(o.reports) > 0 {
		if res.Reports, err = measureReports(o, o.reports); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if o.json {
		return res.writeJSON(os.Stdout)
	}
	res.writeTable(os.Stdout)
	if res.Export != nil {
		writeExportTable(os.Stdout, res.Export)
	}
	return nil
}

// section reports whether -only names this section, or is unset.
func (o *options) section(name string) bool {
	if o.only == "" {
		return true
	}
	for _, s := range strings.Split(o.only, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

// runTable runs the workloads' table, then the BPF programs' costs and the
// memory row.
func runTable(o *options, tracers []tracer, res *results) error {
	var err error
	others, busy := otherTracers(), snapshotActivity()
	if err := bench(o, tracers, res); err != nil {
		return err
	}
	noteOtherTracers(res, others, otherTracers())
	end := snapshotActivity()
	res.note("load average at the end of the table's runs: %s; CPU used by anything else meanwhile: %.0f%% of one CPU on average; busy processes: %s",
		loadAverage(), 100*othersShare(busy, end), listOrNone(othersSince(busy, end)))
	if o.costs {
		var costTracers []tracer
		for _, t := range tracers {
			// -w runs -o json's programs. The floor's, empty, show what
			// run_time_ns counts of a program that does nothing.
			if !t.recorder {
				costTracers = append(costTracers, t)
			}
		}
		if res.Costs, err = measureCosts(o, costTracers); err != nil {
			return fmt.Errorf("BPF program costs: %w", err)
		}
	}
	if o.memEvents > 0 {
		fmt.Fprintf(os.Stderr, "nsbench: memory: setns churn until nstrace has written %d events\n", o.memEvents)
		if res.Memory, err = measureMemory(o, o.memEvents, o.memStep, o.memTime); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	return nil
}

// noteOtherTracers warns when someone else's probes ran during the runs.
func noteOtherTracers(res *results, before, after []string) {
	if len(before)+len(after) == 0 {
		res.note("no other process had BPF programs on tracepoints at the start or end of the runs")
		return
	}
	res.note("other tracers were attached (their programs also run in the untraced runs, which lowers every ratio): at start: %s; at end: %s",
		listOrNone(before), listOrNone(after))
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// chooseTracers decides the columns: nstrace -o json always; -w when this
// nstrace lists it; bpftrace when installed.
func chooseTracers(o *options) ([]tracer, []string, error) {
	tracers := []tracer{nstraceTracer(o.nstrace, false, false)}
	var notes []string
	if o.floor {
		tracers = append(tracers, floorTracer(o.self, o.hooks))
		notes = append(notes, fmt.Sprintf("floor: `return 0` twins of nstrace's programs on the same attach points (hook set %s), statistics off: what hooking those points costs before any BPF code runs", o.hooks))
	}
	records, err := nstraceRecords(o.nstrace)
	if err != nil {
		return nil, nil, err
	}
	if records {
		tracers = append(tracers, nstraceTracer(o.nstrace, true, false))
		notes = append(notes, "`nstrace trace --help` lists -w: the nstrace -w column runs `nstrace trace -q -w FILE`")
	} else {
		notes = append(notes, "`nstrace trace --help` does not list -w (no session recorder in this build): no nstrace -w column")
	}
	if o.baseline != "" {
		tracers = append(tracers, nstraceTracer(o.baseline, false, true), nstraceTracer(o.baseline, true, true))
		notes = append(notes, fmt.Sprintf("baseline columns: %s, another build of nstrace, run the same ways", o.baseline))
	}
	if o.export.collector != "" {
		tracers = append(tracers, exportTracer(o))
		notes = append(notes, fmt.Sprintf("nstrace -o json --otlp-endpoint column: -o json plus OTLP/gRPC (compression %s) export to a local collector, a fresh spool each run, waiting at exit for every acknowledgement", o.export.compression))
	}
	if o.bpftrace == "" {
		return tracers, append(notes, "bpftrace column left out (-bpftrace \"\")"), nil
	}
	bin, err := exec.LookPath(o.bpftrace)
	if err != nil {
		return tracers, append(notes, fmt.Sprintf("bpftrace not found (%v): no bpftrace column; on Debian, apt-get install bpftrace", err)), nil
	}
	script := o.script
	if script == "" {
		script = filepath.Join(o.dir, "peer.bt")
		if err := os.WriteFile(script, peerScript, 0o644); err != nil {
			return nil, nil, err
		}
	}
	version, _ := exec.Command(bin, "--version").Output()
	notes = append(notes, fmt.Sprintf("peer: %s running tracer/internal/nsbench/peer.bt (the same job: unshare/setns enter+exit, sched_process_fork compares, clone flags, exec time switch)",
		strings.TrimSpace(string(version))))
	peer, err := bpftraceTracer(bin, script)
	if err != nil {
		return nil, nil, err
	}
	return append(tracers, peer), notes, nil
}
