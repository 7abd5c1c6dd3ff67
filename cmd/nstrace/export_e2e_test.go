package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/testenv"
)

// These tests run the nstrace binary against a real OpenTelemetry
// Collector (tracer/testenv builds and caches it), which forwards to a
// receiver the test controls and counts by record id.

// exportTrace is a running `nstrace trace` with export on.
type exportTrace struct {
	cmd     *exec.Cmd
	stderr  *bufio.Reader
	metrics string // the /metrics URL

	mu    sync.Mutex
	lines []string // standard output
	eof   chan struct{}
}

// startExportTrace starts nstrace with env added, --metrics on a free
// loopback port and the ready file; it returns once tracing started.
func startExportTrace(t *testing.T, env []string, args ...string) *exportTrace {
	t.Helper()
	testenv.RequireKernel(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(binary, append([]string{"trace", "--ready-file", ready, "--metrics", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	et := &exportTrace{cmd: cmd, stderr: bufio.NewReader(errp), eof: make(chan struct{})}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // it may have exited already
	go func() {
		defer close(et.eof)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			et.mu.Lock()
			et.lines = append(et.lines, sc.Text())
			et.mu.Unlock()
		}
	}()
	readStarted(t, et.stderr)
	if _, err := os.Stat(ready); err != nil {
		t.Fatalf("ready file: %v", err)
	}
	line, _ := et.stderr.ReadString('\n')
	m := regexp.MustCompile(`^nstrace: metrics at (http://127\.0\.0\.1:\d+/metrics)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("stderr %q; want the metrics line", line)
	}
	et.metrics = m[1]
	return et
}

// metric reads one series from /metrics; -1 when absent.
func (et *exportTrace) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(et.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	v := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if v == nil {
		return -1
	}
	f, _ := strconv.ParseFloat(string(v[1]), 64)
	return f
}

// stop sends SIGINT and returns the exit status, the rest of stderr and
// standard output.
func (et *exportTrace) stop(t *testing.T) (int, string, []string) {
	t.Helper()
	if err := et.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(et.stderr)
	<-et.eof
	err := et.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(rest), et.lines
}

// kill ends nstrace with SIGKILL: nothing is flushed or closed.
func (et *exportTrace) kill(t *testing.T) {
	t.Helper()
	if err := et.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = et.cmd.Wait() // killed: its status says so
	<-et.eof
}

// unshareDriver runs unshare -u under a name of its own, in phases of
// the given sizes; each phase starts at next() and returns the pids of
// its unshares, each read from the process itself.
type unshareDriver struct {
	comm string
	in   io.WriteCloser
	out  *bufio.Reader
}

func startDriver(t *testing.T, phases ...int) *unshareDriver {
	t.Helper()
	unshare := testenv.RequireTool(t, "unshare")
	comm := fmt.Sprintf("nsx%d", os.Getpid()%1000000)
	bin := filepath.Join(t.TempDir(), comm)
	data, err := os.ReadFile(unshare)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", `for n in "$@"; do read go || exit 1; i=0; while [ $i -lt $n ]; do "$0" -u sh -c 'echo $$' || exit 1; i=$((i+1)); done; echo phase; done`, bin}
	for _, n := range phases {
		args = append(args, strconv.Itoa(n))
	}
	cmd := exec.Command("sh", args...)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() }) // reaps only; ends at EOF
	return &unshareDriver{comm: comm, in: in, out: bufio.NewReader(out)}
}

func (d *unshareDriver) next(t *testing.T) []int {
	t.Helper()
	if _, err := io.WriteString(d.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for {
		line, err := d.out.ReadString('\n')
		if err != nil {
			t.Fatalf("driver: %v after %d unshares", err, len(pids))
		}
		line = strings.TrimSpace(line)
		if line == "phase" {
			return pids
		}
		pid, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("driver said %q", line)
		}
		pids = append(pids, pid)
	}
}

// ours returns the records of the driver's unshares that arrived, by pid,
// each with how many times its id arrived.
func ours(s *testenv.OTLPSink, comm string) map[int]testenv.Received {
	out := map[int]testenv.Received{}
	for id := range s.Counts() {
		r, _ := s.Record(id)
		if r.Attrs["process.command"] != comm {
			continue
		}
		pid, _ := strconv.Atoi(string(r.Attrs["process.pid"].(json.Number)))
		out[pid] = r
	}
	return out
}

// waitArrived waits until every pid's record arrived.
func waitArrived(t *testing.T, s *testenv.OTLPSink, comm string, pids []int, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		got := ours(s, comm)
		missing := 0
		for _, pid := range pids {
			if _, ok := got[pid]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d unshares never arrived after %v", missing, len(pids), bound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitMetric(t *testing.T, et *exportTrace, series string, atLeast float64, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for et.metric(t, series) < atLeast {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after %v; want at least %v", series, et.metric(t, series), bound, atLeast)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var summaryLine = regexp.MustCompile(`^nstrace: (\d+) events( \(\d+ filtered out\))?, 0 lost\n$`)

// 2 000 unshares arrive exactly once each, over gRPC and over HTTP, with
// the attributes and resource the issue lists; the exit summary follows
// them, and the export metrics count them.
func TestExportEveryUnshareArrivesOnce(t *testing.T) {
	machineID, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	for _, proto := range []string{"grpc", "http"} {
		t.Run(proto, func(t *testing.T) {
			testenv.RequireKernel(t)
			s := testenv.StartOTLPSink(t)
			c := testenv.StartCollector(t, s.URL, nil)
			args := []string{"-o", "json", "--otlp-spool", t.TempDir()}
			if proto == "grpc" {
				args = append(args, "--otlp-endpoint", c.GRPCURL(), "--otlp-insecure")
			} else {
				args = append(args, "--otlp-endpoint", c.HTTPURL())
			}
			const n = 2000
			d := startDriver(t, n)
			et := startExportTrace(t, []string{"K8S_NODE_NAME=node-7"}, append(args, "--comm", d.comm)...)
			pids := d.next(t)
			if len(pids) != n {
				t.Fatalf("driver made %d unshares; want %d", len(pids), n)
			}
			waitArrived(t, s, d.comm, pids, 2*time.Minute)
			waitMetric(t, et, `nstrace_export_records_total{result="sent"}`, n, 30*time.Second)
			for series, want := range map[string]float64{
				`nstrace_export_records_total{result="spooled"}`:  n,
				`nstrace_export_records_total{result="sent"}`:     n,
				`nstrace_export_records_total{result="dropped"}`:  0,
				`nstrace_export_records_total{result="rejected"}`: 0,
				`nstrace_export_queue_records`:                    0,
				`nstrace_export_retries_total`:                    0,
			} {
				if got := et.metric(t, series); got != want {
					t.Errorf("%s = %v; want %v", series, got, want)
				}
			}
			if b := et.metric(t, "nstrace_export_spool_bytes"); b <= 0 {
				t.Errorf("nstrace_export_spool_bytes = %v; want the spool's size", b)
			}
			code, rest, lines := et.stop(t)
			m := summaryLine.FindStringSubmatch(rest)
			if code != 0 || m == nil || m[1] != strconv.Itoa(n) {
				t.Fatalf("exit %d, stderr %q; want 0 and %d events, 0 lost", code, rest, n)
			}
			if len(lines) != n {
				t.Errorf("%d lines on standard output; want %d", len(lines), n)
			}
			checkRecords(t, s, d.comm, pids, string(machineID), host, n)
		})
	}
}

// checkRecords checks each unshare's record against its real pid, that
// every id of the session arrived exactly once, and the exit summary.
func checkRecords(t *testing.T, s *testenv.OTLPSink, comm string, pids []int, machineID, host string, n int) {
	t.Helper()
	got := ours(s, comm)
	var session string
	for _, pid := range pids {
		r := got[pid]
		id, _ := r.Attrs["nstrace.record.id"].(string)
		sess, _, _ := strings.Cut(id, "-")
		if session == "" {
			session = sess
		}
		body, _ := r.Body.(map[string]any)
		if sess != session || r.EventName != "nstrace.namespace.unshare" || r.Severity != 9 || r.SeverityText != "info" ||
			body["event"] != "unshare" || body["pid"] != json.Number(strconv.Itoa(pid)) || body["comm"] != comm ||
			r.Attrs["process.pid"] != json.Number(strconv.Itoa(pid)) || r.Attrs["nstrace.event"] != "unshare" || r.Attrs["user.id"] != "0" {
			t.Fatalf("pid %d: record %+v", pid, r)
		}
		for k, want := range map[string]string{"service.name": "nstrace", "host.name": host, "host.id": strings.TrimSpace(machineID),
			"k8s.node.name": "node-7", "os.type": "linux"} {
			if r.Resource[k] != want {
				t.Fatalf("resource %s = %v; want %q", k, r.Resource[k], want)
			}
		}
	}
	counts := s.Counts()
	var summary testenv.Received
	for seq := 1; seq <= n+1; seq++ {
		id := session + "-" + strconv.Itoa(seq)
		if counts[id] != 1 {
			t.Fatalf("record %s arrived %d times; want once", id, counts[id])
		}
		if r, _ := s.Record(id); r.EventName == "nstrace.summary" {
			summary = r
		}
	}
	if counts[session+"-"+strconv.Itoa(n+2)] != 0 {
		t.Fatalf("more than %d records in session %s", n+1, session)
	}
	body, _ := summary.Body.(map[string]any)
	if body["events"] != json.Number(strconv.Itoa(n)) || body["lost"] != json.Number("0") || body["export_dropped"] != json.Number("0") {
		t.Fatalf("exit summary %+v; want %d events, 0 lost", summary, n)
	}
}
