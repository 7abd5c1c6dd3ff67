package cli

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

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// The export tests' harness: nstrace run with export on, a driver of
// real unshares, and what the collector's receiver got.

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
// Detection is off: it runs before the filter, so another process on the
// machine can raise an alert, an exported record the test did not make.
// The drain at the stop is bounded by a minute, not 2 s, unless args say
// otherwise: the exit summary must be acknowledged on a loaded machine too.
func startExportTrace(t *testing.T, env []string, args ...string) *exportTrace {
	t.Helper()
	testenv.RequireKernel(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(binary, append([]string{"trace", "--ready-file", ready, "--metrics", "127.0.0.1:0",
		"--no-alerts", "--drain-timeout", "1m"}, args...)...)
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

// received returns the records of the driver's unshares that arrived, by
// record id: one each, however often it arrived.
func received(s *testenv.OTLPSink, comm string) map[string]testenv.Received {
	out := map[string]testenv.Received{}
	for id := range s.Counts() {
		if r, _ := s.Record(id); r.Attrs["process.command"] == comm {
			out[id] = r
		}
	}
	return out
}

// recordPid is the process.pid attribute of r.
func recordPid(r testenv.Received) int {
	n, _ := r.Attrs["process.pid"].(json.Number)
	pid, _ := strconv.Atoi(string(n))
	return pid
}

// ours returns the records of the driver's unshares that arrived, by pid.
// Pids wrap (pid_max is often 32768): on a busy machine two unshares of a
// test can have the same one, so count records with received, not these.
func ours(s *testenv.OTLPSink, comm string) map[int]testenv.Received {
	out := map[int]testenv.Received{}
	for _, r := range received(s, comm) {
		out[recordPid(r)] = r
	}
	return out
}

// waitArrived waits until a record arrived for every unshare in pids (a
// pid there twice needs two records with it).
func waitArrived(t *testing.T, s *testenv.OTLPSink, comm string, pids []int, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		want := map[int]int{}
		for _, pid := range pids {
			want[pid]++
		}
		for _, r := range received(s, comm) {
			want[recordPid(r)]--
		}
		missing := 0
		for _, n := range want {
			missing += max(n, 0)
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

// waitMetric waits until series is at least atLeast. A record reaches
// the collector's receiver before nstrace hears its acknowledgement, so
// what arrived is no bound on what nstrace counts yet: wait for that too.
func waitMetric(t *testing.T, et *exportTrace, series string, atLeast float64, bound time.Duration) {
	t.Helper()
	waitMetricTo(t, et, series, func(v float64) bool { return v >= atLeast }, fmt.Sprintf("at least %v", atLeast), bound)
}

// waitMetricIs waits until series is want.
func waitMetricIs(t *testing.T, et *exportTrace, series string, want float64, bound time.Duration) {
	t.Helper()
	waitMetricTo(t, et, series, func(v float64) bool { return v == want }, fmt.Sprint(want), bound)
}

func waitMetricTo(t *testing.T, et *exportTrace, series string, ok func(float64) bool, want string, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for v := et.metric(t, series); !ok(v); v = et.metric(t, series) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after %v; want %s", series, v, bound, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
