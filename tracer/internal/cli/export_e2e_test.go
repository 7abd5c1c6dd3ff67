package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// These tests run the nstrace binary against a real OpenTelemetry
// Collector (tracer/internal/testenv builds and caches it), which forwards to a
// receiver the test controls and counts by record id.

var summaryLine = regexp.MustCompile(`^nstrace: (\d+) events( \(\d+ filtered out\))?, 0 lost\n$`)

// 2 000 unshares arrive exactly once each, over gRPC (named by flags) and
// over HTTP (named by OTEL_EXPORTER_OTLP_ENDPOINT), with the attributes
// and resource the issue lists; the exit summary follows them, and the
// export metrics count them.
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
			env := []string{"K8S_NODE_NAME=node-7"}
			if proto == "grpc" {
				args = append(args, "--otlp-endpoint", c.GRPCURL(), "--otlp-insecure")
			} else { // by the standard variables alone
				env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+c.HTTPURL(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
			}
			const n = 2000
			d := startDriver(t, n)
			et := startExportTrace(t, env, append(args, "--comm", d.comm)...)
			pids := d.next(t)
			if len(pids) != n {
				t.Fatalf("driver made %d unshares; want %d", len(pids), n)
			}
			waitArrived(t, s, d.comm, pids, 2*time.Minute)
			waitMetric(t, et, `nstrace_export_records_total{result="sent"}`, n, 30*time.Second)
			// The last batch leaves the queue just after it is counted sent.
			waitMetricIs(t, et, "nstrace_export_queue_records", 0, 30*time.Second)
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

// nstrace killed with SIGKILL while the collector cannot take records,
// then started again on the same spool: every unshare arrives.
func TestExportResumesAfterKill9(t *testing.T) {
	testenv.RequireKernel(t)
	s := testenv.StartOTLPSink(t)
	c := testenv.StartCollector(t, s.URL, nil)
	spool := t.TempDir()
	args := []string{"-q", "--otlp-endpoint", c.GRPCURL(), "--otlp-insecure", "--otlp-spool", spool}
	d := startDriver(t, 500, 1500)
	first := startExportTrace(t, nil, append(args, "--comm", d.comm)...)
	pids := d.next(t)
	waitArrived(t, s, d.comm, pids, time.Minute)
	waitMetric(t, first, `nstrace_export_records_total{result="sent"}`, 500, 30*time.Second)
	s.Hold() // from now on nothing is acknowledged
	pids = append(pids, d.next(t)...)
	// Every record is in the spool, none of the second phase is sent.
	waitMetric(t, first, `nstrace_export_records_total{result="spooled"}`, float64(len(pids)), 30*time.Second)
	sent := first.metric(t, `nstrace_export_records_total{result="sent"}`)
	first.kill(t)
	if got := len(received(s, d.comm)); got != 500 || sent != 500 {
		t.Fatalf("%d arrived, %v sent before the kill; want the first 500 only", got, sent)
	}
	s.Release()
	// A request of the first run the collector still holds may reach the
	// sink now: the second run must send what the first left all the same.
	second := startExportTrace(t, nil, append(args, "--comm", d.comm)...)
	waitArrived(t, s, d.comm, pids, time.Minute)
	waitMetric(t, second, `nstrace_export_records_total{result="sent"}`, 1500, time.Minute)
	waitMetricIs(t, second, "nstrace_export_queue_records", 0, time.Minute)
	if code, rest, _ := second.stop(t); code != 0 || !summaryLine.MatchString(rest) {
		t.Errorf("second run: exit %d, stderr %q", code, rest)
	}
	if got := len(received(s, d.comm)); got != len(pids) {
		t.Fatalf("%d of %d unshares arrived", got, len(pids))
	}
}

// The collector is killed for 5 s in the middle of a run: every unshare
// made before, during and after the outage arrives, and the retries show.
func TestExportSurvivesCollectorOutage(t *testing.T) {
	testenv.RequireKernel(t)
	s := testenv.StartOTLPSink(t)
	c := testenv.StartCollector(t, s.URL, nil)
	d := startDriver(t, 700, 700, 600)
	et := startExportTrace(t, nil, "-q", "--otlp-endpoint", c.HTTPURL(), "--otlp-spool", t.TempDir(), "--comm", d.comm)
	pids := d.next(t)
	waitArrived(t, s, d.comm, pids, time.Minute)
	c.Kill()
	outage := time.Now()
	pids = append(pids, d.next(t)...)
	time.Sleep(time.Until(outage.Add(5 * time.Second))) // the outage under test, not a synchronisation
	waitMetric(t, et, "nstrace_export_retries_total", 1, 10*time.Second)
	if got := len(received(s, d.comm)); got != 700 {
		t.Fatalf("%d arrived while the collector was down; want the 700 from before", got)
	}
	c.Start()
	pids = append(pids, d.next(t)...)
	waitArrived(t, s, d.comm, pids, 2*time.Minute)
	// Arrived is not yet acknowledged: the stop's drain would say so.
	waitMetricIs(t, et, "nstrace_export_queue_records", 0, time.Minute)
	code, rest, _ := et.stop(t)
	// The outage is said once, and its end.
	lines := strings.SplitAfter(rest, "\n")
	if code != 0 || len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "nstrace: otlp: export to "+c.HTTPURL()+" failed, retrying with backoff: ") ||
		lines[1] != "nstrace: otlp: sending to the collector again\n" || summaryLine.FindStringSubmatch(lines[2]) == nil ||
		summaryLine.FindStringSubmatch(lines[2])[1] != "2000" {
		t.Fatalf("exit %d, stderr %q; want the outage, its end and 2000 events, 0 lost", code, rest)
	}
}

// Export that never gets an answer does not slow the ring reader: two
// tracers see the same 2000 unshares, one exporting to a collector that
// accepts connections and never replies; both print the same lines and
// lose nothing, and the exporting one keeps every record in its spool.
func TestExportNeverStallsTheReader(t *testing.T) {
	testenv.RequireKernel(t)
	silent := testenv.SilentListener(t)
	d := startDriver(t, 2000)
	spool := t.TempDir()
	plain := startExportTrace(t, nil, "-o", "json", "--comm", d.comm)
	exporting := startExportTrace(t, nil, "-o", "json", "--comm", d.comm,
		"--otlp-endpoint", "grpc://"+silent, "--otlp-insecure", "--otlp-spool", spool, "--drain-timeout", "500ms")
	pids := d.next(t)
	waitMetric(t, exporting, `nstrace_export_records_total{result="spooled"}`, float64(len(pids)), 30*time.Second)
	if got := exporting.metric(t, `nstrace_export_records_total{result="sent"}`); got != 0 {
		t.Fatalf("%v sent to a collector that never answers", got)
	}
	for _, et := range []*exportTrace{plain, exporting} {
		if lost := et.metric(t, `nstrace_lost_events_total{cause="ring_full"}`); lost != 0 {
			t.Fatalf("ring_full %v", lost)
		}
	}
	code1, rest1, lines1 := plain.stop(t)
	code2, rest2, lines2 := exporting.stop(t)
	if code1 != 0 || code2 != 0 || !summaryLine.MatchString(rest1) {
		t.Fatalf("exit %d, %d; stderr %q, %q", code1, code2, rest1, rest2)
	}
	// The exporting run says, after the same summary, what waits in the
	// spool: the 2000 events and the exit summary. (What the filter left
	// out is the host's other events: the two started at different times.)
	unfiltered := regexp.MustCompile(` \(\d+ filtered out\)`)
	rest1, rest2 = unfiltered.ReplaceAllString(rest1, ""), unfiltered.ReplaceAllString(rest2, "")
	want := strings.SplitN(rest1, "\n", 2)[0] + "\n" +
		fmt.Sprintf("nstrace: otlp: %d records not yet acknowledged stay in the spool %s for the next start\n", len(pids)+1, spool)
	// An export call that times out (10 s) on a slow run is said once.
	rest2 = regexp.MustCompile(`(?m)^nstrace: otlp: export to .* failed, retrying with backoff: .*\n`).ReplaceAllString(rest2, "")
	if rest2 != want {
		t.Errorf("exporting run's stderr %q; want %q", rest2, want)
	}
	// Each tracer's programs read the clock themselves: times differ by
	// microseconds; everything else is the same.
	untimed := regexp.MustCompile(`^\{"time":"[^"]*",`)
	for _, lines := range [][]string{lines1, lines2} {
		for i := range lines {
			lines[i] = untimed.ReplaceAllString(lines[i], "{")
		}
	}
	if len(lines1) != len(pids) || strings.Join(lines1, "\n") != strings.Join(lines2, "\n") {
		for i := range min(len(lines1), len(lines2)) {
			if lines1[i] != lines2[i] {
				t.Errorf("line %d differs:\n%s\n%s", i, lines1[i], lines2[i])
				break
			}
		}
		t.Errorf("outputs differ: %d lines without export, %d with", len(lines1), len(lines2))
	}
}

// Bad OTLP flags and variables: one line and exit 2, before anything is
// loaded (so without root too); a spool that cannot be created: one line
// and exit 1.
func TestExportBadOptionsGetOneLine(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		args []string
		code int
		want string
	}{
		{nil, []string{"--otlp-endpoint", "collector:4317"}, 2, `nstrace: otlp: endpoint "collector:4317" is not grpc://, http:// or https://HOST:PORT`},
		{nil, []string{"--otlp-endpoint", "https://c:4318", "--otlp-insecure"}, 2, "nstrace: otlp: --otlp-insecure with TLS (https or certificate files)"},
		{nil, []string{"--otlp-endpoint", "grpc://c:4317", "--otlp-ca", filepath.Join(dir, "none.pem")}, 2,
			"nstrace: otlp: read OTLP CA file: open " + filepath.Join(dir, "none.pem") + ": no such file or directory"},
		{nil, []string{"--otlp-endpoint", "grpc://c:4317", "--otlp-header", "novalue"}, 2, `nstrace: --otlp-header "novalue": want KEY=VALUE`},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"}, nil, 2,
			`nstrace: otlp: OTEL_EXPORTER_OTLP_PROTOCOL "http/json" (want grpc or http/protobuf)`},
		{nil, []string{"--otlp-endpoint", "grpc://c:4317", "--otlp-spool", filepath.Join(notDir, "spool")}, 1,
			"nstrace: otlp: create spool: mkdir " + notDir + ": not a directory"},
	} {
		cmd := exec.Command(binary, append([]string{"trace", "-q"}, tc.args...)...)
		cmd.Env = append(os.Environ(), tc.env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != tc.code || stderr.String() != tc.want+"\n" {
			t.Errorf("%v %v: %v, stderr %q; want exit %d and %q", tc.env, tc.args, err, stderr.String(), tc.code, tc.want)
		}
	}
}
