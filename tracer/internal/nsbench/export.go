package nsbench

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// exportOptions are the export row's flags.
type exportOptions struct {
	collector      string        // the OpenTelemetry Collector binary; "" to skip the row
	rates          string        // sustained rates, events/s
	duration       time.Duration // each sustained run
	search         string        // rates tried for the highest with nothing lost
	searchDuration time.Duration
	only           bool   // the export row alone
	compression    string // gzip or none, on the wire
	collectorGOGC  string // the collector's GOGC; "" for Go's default

	tableCol *collectorProc // the table's export column's, once started
}

func (e *exportOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&e.collector, "otelcol", defaultCollector(), "OpenTelemetry Collector binary for the export row (go test ./tracer/internal/export builds and caches one); empty: no export row")
	fs.StringVar(&e.rates, "export-rates", "100000", "sustained setns rates (events/s) sent through --otlp-endpoint, each also run without export")
	fs.DurationVar(&e.duration, "export-duration", 30*time.Second, "how long each sustained export run lasts")
	fs.StringVar(&e.search, "export-search", "25000,50000,75000,100000,150000,200000,250000,300000", "rates tried, in order until one fails, for the highest with 0 lost, every record acknowledged and the acknowledgements keeping up")
	fs.DurationVar(&e.searchDuration, "export-search-duration", 10*time.Second, "how long each search run lasts")
	fs.BoolVar(&e.only, "export-only", false, "run the export row alone")
	fs.StringVar(&e.compression, "export-compression", "gzip", "OTLP compression for the export row and column: gzip (nstrace's default) or none")
	fs.StringVar(&e.collectorGOGC, "otelcol-gogc", "", "GOGC for the collector (its receiver allocates for every value of every record); empty: Go's default")
}

// defaultCollector is the collector the export tests build, when cached.
func defaultCollector() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	bins, _ := filepath.Glob(filepath.Join(dir, "nstrace-otelcol", "*", "otelcol-nstrace"))
	if len(bins) == 0 {
		return ""
	}
	return bins[0]
}

// exportResult is the export row: setns churn from this process at fixed
// rates, traced by `nstrace trace -q --pid` with and without export to a
// local collector over OTLP/gRPC.
type exportResult struct {
	Collector     string      `json:"collector"`
	CollectorGOGC string      `json:"collector_gogc,omitempty"`
	Compression   string      `json:"compression"`
	Runs          []exportRun `json:"runs"`
	// HighestRate is the highest rate run with 0 lost, every record
	// acknowledged and the rate reached; 0 when none.
	HighestRate float64 `json:"highest_rate_zero_lost"`
}

type exportRun struct {
	Rate     float64 `json:"rate"`     // asked, events/s
	Achieved float64 `json:"achieved"` // made, events/s
	Seconds  float64 `json:"seconds"`
	Export   bool    `json:"export"`
	Ops      int64   `json:"ops"`       // setns calls made: the events expected, with the one unshare
	Events   int64   `json:"events"`    // in nstrace's summary
	Lost     int64   `json:"lost"`      // kernel-side, plus export dropped and rejected
	Acked    int64   `json:"acked"`     // records the collector acknowledged
	Drain    float64 `json:"drain_s"`   // after the churn, until the last acknowledgement
	CPUNs    float64 `json:"cpu_ns"`    // nstrace's CPU per event, ready to exit
	ExportNs float64 `json:"export_ns"` // CPUNs less the same rate's run without export
	// CollectorNs is the collector's CPU per event meanwhile: what bounds
	// the rate when it has less CPU than nstrace's sender.
	CollectorNs float64 `json:"collector_ns"`
}

// env is nstrace's environment for the export runs: the compression asked.
func (e *exportOptions) env() []string {
	return append(os.Environ(), "OTEL_EXPORTER_OTLP_COMPRESSION="+e.compression)
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("rate %q: want events a second", f)
		}
		out = append(out, r)
	}
	return out, nil
}

// measureExport runs the export row.
func measureExport(o *options) (*exportResult, error) {
	e := &o.export
	sustained, err := parseRates(e.rates)
	if err != nil {
		return nil, err
	}
	search, err := parseRates(e.search)
	if err != nil {
		return nil, err
	}
	col, err := startCollector(o, e.collector)
	if err != nil {
		return nil, err
	}
	defer col.kill()
	if e.compression != "gzip" && e.compression != "none" {
		return nil, fmt.Errorf("-export-compression %q: want gzip or none", e.compression)
	}
	res := &exportResult{Collector: e.collector, CollectorGOGC: e.collectorGOGC, Compression: e.compression}
	for _, rate := range sustained {
		plain, err := exportOnce(o, nil, rate, e.duration)
		if err != nil {
			return nil, err
		}
		exp, err := exportOnce(o, col, rate, e.duration)
		if err != nil {
			return nil, err
		}
		exp.ExportNs = exp.CPUNs - plain.CPUNs
		res.Runs = append(res.Runs, *plain, *exp)
		res.consider(exp)
	}
	for _, rate := range search {
		run, err := exportOnce(o, col, rate, e.searchDuration)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, *run)
		if !res.consider(run) {
			break
		}
	}
	return res, nil
}

// maxDrain is how far behind the acknowledgements may end for a rate to
// count as sustained.
const maxDrain = 2 * time.Second

// consider notes a run that lost nothing at its rate; false when it did not.
func (r *exportResult) consider(run *exportRun) bool {
	// The churn's thread unshares once, to have a second namespace: one
	// event more than its setns calls.
	want := run.Ops + 1
	// Sustained: the rate reached, and the collector's acknowledgements
	// no more than maxDrain behind at the end.
	ok := run.Lost == 0 && run.Acked >= want && run.Events == want && run.Achieved >= 0.98*run.Rate &&
		run.Drain <= maxDrain.Seconds()
	if ok && run.Rate > r.HighestRate {
		r.HighestRate = run.Rate
	}
	return ok
}

// collectorProc is the running collector.
type collectorProc struct {
	cmd *exec.Cmd
	url string
}

func (c *collectorProc) kill() {
	_ = c.cmd.Process.Kill() // stopped on purpose: its status says only that
	_ = c.cmd.Wait()
}

// startCollector runs a collector that receives OTLP/gRPC on loopback and
// drops what it receives (the debug exporter at its quietest).
func startCollector(o *options, bin string) (*collectorProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(o.dir, "otelcol.yaml")
	yaml := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: error
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug]
`, addr)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfg)
	if g := o.export.collectorGOGC; g != "" {
		cmd.Env = append(os.Environ(), "GOGC="+g)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start collector: %w", err)
	}
	c := &collectorProc{cmd: cmd, url: "grpc://" + addr}
	for deadline := time.Now().Add(readyTimeout); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return c, nil
		}
		if time.Now().After(deadline) {
			c.kill()
			return nil, fmt.Errorf("collector not listening on %s after %v", addr, readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exportOnce traces this process's setns churn at rate for d, exporting
// to url unless it is "".
func exportOnce(o *options, col *collectorProc, rate float64, d time.Duration) (*exportRun, error) {
	run := &exportRun{Rate: rate, Export: col != nil}
	url := ""
	var colCPU time.Duration
	if col != nil {
		url, colCPU = col.url, threadsCPU(col.cmd.Process.Pid)
	}
	fmt.Fprintf(os.Stderr, "nsbench: export: %.0f setns/s for %v, export %v\n", rate, d, run.Export)
	dir, err := os.MkdirTemp(o.dir, "export-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ready := filepath.Join(dir, "ready")
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	args := []string{"trace", "-q", "--pid", strconv.Itoa(os.Getpid()), "--flood-rate", "0", "--ring-size", "64M",
		"--ready-file", ready, "--metrics", fmt.Sprintf("127.0.0.1:%d", port)}
	if url != "" {
		args = append(args, "--otlp-endpoint", url, "--otlp-insecure", "--otlp-spool", filepath.Join(dir, "spool"),
			"--drain-timeout", "30s")
	}
	cmd := exec.Command(o.nstrace, args...)
	cmd.Env = o.export.env()
	s, err := startSession(cmd, "", fileExists(ready))
	if err != nil {
		return nil, err
	}
	ops, secs, err := churnSetns(rate, d)
	if err != nil {
		s.kill()
		return nil, err
	}
	run.Ops, run.Seconds, run.Achieved = ops, secs, float64(ops)/secs
	churned := time.Now()
	var dropped, rejected int64
	if url != "" {
		// Every event acknowledged, or a minute passed.
		for deadline := churned.Add(time.Minute); ; {
			m, err := scrapeExport(metricsURL)
			if err != nil {
				s.kill()
				return nil, err
			}
			run.Acked, dropped, rejected = m["sent"], m["dropped"], m["rejected"]
			if run.Acked >= ops+1 || dropped+rejected > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		run.Drain = time.Since(churned).Seconds()
		if ops > 0 {
			run.CollectorNs = float64((threadsCPU(col.cmd.Process.Pid) - colCPU).Nanoseconds()) / float64(ops)
		}
	}
	if err := s.stop(); err != nil {
		return nil, err
	}
	sum, ok := parseSummary(s.stderr.String())
	if !ok {
		return nil, fmt.Errorf("nstrace printed no summary: %q", s.stderr.String())
	}
	run.Events, run.Lost = sum.Events, sum.Lost+dropped+rejected
	if run.Lost > 0 {
		fmt.Fprintf(os.Stderr, "nsbench: export: lost %d (kernel %d, export dropped %d, rejected %d); nstrace said:\n%s", run.Lost, sum.Lost, dropped, rejected, s.stderr.String())
	}
	if ops > 0 {
		run.CPUNs = float64(s.cpuSinceReady().Nanoseconds()) / float64(ops)
	}
	return run, nil
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var exportSeries = regexp.MustCompile(`(?m)^nstrace_export_records_total\{result="(\w+)"\} (\S+)$`)

// scrapeExport reads nstrace_export_records_total by result.
func scrapeExport(url string) (map[string]int64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape nstrace: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, m := range exportSeries.FindAllSubmatch(body, -1) {
		f, _ := strconv.ParseFloat(string(m[2]), 64)
		out[string(m[1])] = int64(f)
	}
	return out, nil
}

// churnSetns makes setns calls at rate for d on a thread of its own, which
// leaves with its goroutine (it is in a namespace of its own by then).
func churnSetns(rate float64, d time.Duration) (int64, float64, error) {
	type result struct {
		ops  int64
		secs float64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		op, err := setnsOp()
		if err != nil {
			done <- result{err: err}
			return
		}
		var ops int64
		start := time.Now()
		for {
			el := time.Since(start)
			if el >= d {
				break
			}
			want := int64(rate * el.Seconds())
			if n := want - ops; n > 0 {
				n = min(n, 4096)
				if err := op(int(n)); err != nil {
					done <- result{err: err}
					return
				}
				ops += n
				continue
			}
			time.Sleep(100 * time.Microsecond)
		}
		done <- result{ops: ops, secs: time.Since(start).Seconds()}
	}()
	r := <-done
	return r.ops, r.secs, r.err
}
