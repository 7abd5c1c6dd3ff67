package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/export"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

var baseTime = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// unshare is the i-th test event: a net namespace created by pid 1000+i.
func unshare(i int) *event.Event {
	return &event.Event{
		Time: baseTime.Add(time.Duration(i) * time.Microsecond), Kind: event.Unshare,
		Pid: uint32(1000 + i), Tid: uint32(1000 + i), Ppid: 1, UID: 0, Comm: "unshare",
		Flags: syscall.CLONE_NEWNET, CgroupID: 4242, UserNS: 4026531837,
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 4026531840, To: uint32(4026532000 + i)}},
	}
}

// logLines collects what the exporter logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func newExporter(t *testing.T, o export.Options) (*export.Exporter, *logLines) {
	t.Helper()
	logs := &logLines{}
	if o.Logf == nil {
		o.Logf = logs.logf
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 200 * time.Millisecond
	}
	if o.Version == "" {
		o.Version = "test"
	}
	if o.BatchSize == 0 {
		// Small requests: the receiver decodes JSON, slowly under -race.
		o.BatchSize = 256
	}
	e, err := export.New(context.Background(), o)
	if err != nil {
		t.Fatalf("export.New: %v", err)
	}
	return e, logs
}

func closeExporter(t *testing.T, e *export.Exporter, logs *logLines) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatalf("Close: %v (log %q)", err, logs.get())
	}
}

// writeUnshares writes events from..to-1 and flushes them to the spool.
func writeUnshares(t *testing.T, e *export.Exporter, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := e.WriteEvent(unshare(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
}

func recordID(session string, seq int) string { return session + "-" + strconv.Itoa(seq) }

// missing lists the sequence numbers 1..n that never arrived.
func missing(s *testenv.OTLPSink, session string, n int) []int {
	var out []int
	for seq := 1; seq <= n; seq++ {
		if s.Count(recordID(session, seq)) == 0 {
			out = append(out, seq)
		}
	}
	return out
}

// TestExactlyOnce: 2000 records over gRPC and over HTTP each arrive once.
func TestExactlyOnce(t *testing.T) {
	for _, proto := range []string{"grpc", "http"} {
		t.Run(proto, func(t *testing.T) {
			s := testenv.StartOTLPSink(t)
			c := testenv.StartCollector(t, s.URL, nil)
			url, insecure := c.GRPCURL(), true
			if proto == "http" {
				url, insecure = c.HTTPURL(), false
			}
			e, logs := newExporter(t, export.Options{Endpoint: url, Insecure: insecure, SpoolDir: t.TempDir()})
			const n = 2000
			writeUnshares(t, e, 0, n)
			closeExporter(t, e, logs)
			total, distinct := s.Stats()
			if total != n || distinct != n {
				t.Fatalf("arrived %d records, %d distinct; want %d of each (log %q)", total, distinct, n, logs.get())
			}
			if m := missing(s, e.SessionID(), n); len(m) != 0 {
				t.Fatalf("missing seqs %v", m[:min(len(m), 10)])
			}
			st := e.Stats()
			if st.Sent != n || st.Dropped != 0 || st.Rejected != 0 || st.Queue != 0 {
				t.Fatalf("stats %+v; want %d sent, nothing dropped, rejected or queued", st, n)
			}
		})
	}
}

// TestCollectorRestart: the collector is killed in the middle of 20000
// records and comes back after a pause; every record arrives.
func TestCollectorRestart(t *testing.T) {
	s := testenv.StartOTLPSink(t)
	s.Delay = 5 * time.Millisecond
	c := testenv.StartCollector(t, s.URL, nil)
	e, logs := newExporter(t, export.Options{Endpoint: c.GRPCURL(), Insecure: true, SpoolDir: t.TempDir(), BatchSize: 100})
	const n = 20000
	writeUnshares(t, e, 0, n)
	waitFor(t, time.Minute, "a quarter arrived", func() bool { _, d := s.Stats(); return d >= n/4 })
	c.Kill()
	_, atKill := s.Stats()
	time.Sleep(5 * time.Second) // the outage under test, not a synchronisation
	if st := e.Stats(); st.Retries == 0 {
		t.Fatalf("no retries while the collector was down: %+v", st)
	}
	c.Start()
	closeExporter(t, e, logs)
	if m := missing(s, e.SessionID(), n); len(m) != 0 {
		t.Fatalf("%d records missing, first %v (log %q)", len(m), m[:min(len(m), 10)], logs.get())
	}
	total, distinct := s.Stats()
	t.Logf("killed at %d of %d; %d arrived, %d distinct; stats %+v", atKill, n, total, distinct, e.Stats())
	if atKill >= n {
		t.Fatalf("everything arrived before the kill: the test proves nothing")
	}
}

// TestExporterKilled: an nstrace killed with SIGKILL mid-send leaves its
// spool; a new exporter on the same spool sends the rest.
func TestExporterKilled(t *testing.T) {
	s := testenv.StartOTLPSink(t)
	s.Delay = 5 * time.Millisecond
	c := testenv.StartCollector(t, s.URL, nil)
	dir := t.TempDir()
	ready := dir + ".ready"
	const n = 20000
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "NSTRACE_EXPORT_CHILD="+strings.Join([]string{c.GRPCURL(), dir, ready, strconv.Itoa(n)}, ","))
	out := new(strings.Builder)
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "child spooled everything", func() bool { _, err := os.Stat(ready); return err == nil })
	waitFor(t, time.Minute, "a quarter arrived", func() bool { _, d := s.Stats(); return d >= n/4 })
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait() // killed: its status says so
	session, err := os.ReadFile(ready)
	if err != nil {
		t.Fatal(err)
	}
	_, atKill := s.Stats()
	if atKill >= n {
		t.Fatalf("everything arrived before the kill: the test proves nothing")
	}
	e, logs := newExporter(t, export.Options{Endpoint: c.GRPCURL(), Insecure: true, SpoolDir: dir})
	closeExporter(t, e, logs)
	if m := missing(s, string(session), n); len(m) != 0 {
		t.Fatalf("%d records missing, first %v (log %q, child %q)", len(m), m[:min(len(m), 10)], logs.get(), out)
	}
	total, distinct := s.Stats()
	t.Logf("killed at %d of %d; the second exporter sent %d; %d arrived, %d distinct", atKill, n, e.Stats().Sent, total, distinct)
	if e.Stats().Sent == 0 {
		t.Fatal("the second exporter sent nothing")
	}
}

// TestMain runs the exporter process TestExporterKilled kills when asked
// to by its environment, and the tests otherwise.
func TestMain(m *testing.M) {
	if args := strings.Split(os.Getenv("NSTRACE_EXPORT_CHILD"), ","); len(args) == 4 {
		exporterChild(args)
	}
	os.Exit(m.Run())
}

// exporterChild spools n records, says so, and sends until killed.
func exporterChild(args []string) {
	n, _ := strconv.Atoi(args[3])
	e, err := export.New(context.Background(), export.Options{Endpoint: args[0], Insecure: true, SpoolDir: args[1],
		BatchSize: 100, MaxBackoff: 200 * time.Millisecond, Logf: func(string, ...any) {}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := 0; i < n; i++ {
		if err := e.WriteEvent(unshare(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := e.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(args[2], []byte(e.SessionID()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {} // sending until killed
}

// TestSpoolTooSmall: with the collector away, a 1 MiB spool overflows;
// exactly the records counted as dropped never arrive.
func TestSpoolTooSmall(t *testing.T) {
	s := testenv.StartOTLPSink(t)
	c := testenv.StartCollector(t, s.URL, nil)
	c.Kill()
	e, logs := newExporter(t, export.Options{Endpoint: c.GRPCURL(), Insecure: true, SpoolDir: t.TempDir(),
		SpoolSize: export.MinSpoolSize})
	const n = 80000 // packed in blocks, well past the 1 MiB spool
	writeUnshares(t, e, 0, n)
	st := e.Stats()
	if st.Dropped == 0 || st.SpoolBytes > export.MinSpoolSize {
		t.Fatalf("stats %+v: want records dropped and the spool within %d bytes", st, export.MinSpoolSize)
	}
	c.Start()
	closeExporter(t, e, logs)
	st = e.Stats()
	// Loss markers (cause export) are records too: every record spooled
	// either arrived or was counted as dropped.
	m := missing(s, e.SessionID(), int(st.Spooled))
	_, distinct := s.Stats()
	t.Logf("%d written, %d spooled, %d dropped, %d missing, %d arrived; stats %+v", n, st.Spooled, st.Dropped, len(m), distinct, st)
	if uint64(len(m)) != st.Dropped || uint64(distinct) != st.Spooled-st.Dropped {
		t.Fatalf("%d missing, %d dropped, %d arrived of %d: want missing == dropped (log %q)", len(m), st.Dropped, distinct, st.Spooled, logs.get())
	}
	var markers, markedLost uint64
	for seq := 1; seq <= int(st.Spooled); seq++ {
		r, ok := s.Record(recordID(e.SessionID(), seq))
		if !ok || r.EventName != "nstrace.lost" {
			continue
		}
		if r.Attrs["nstrace.lost.cause"] != "export" {
			t.Fatalf("loss marker %+v: want cause export", r)
		}
		markers++
		c, _ := strconv.ParseUint(string(r.Attrs["nstrace.lost.count"].(json.Number)), 10, 64)
		markedLost += c
	}
	if markers == 0 || markedLost == 0 || markedLost > st.Dropped {
		t.Fatalf("%d loss markers arrived counting %d; want some, counting at most the %d dropped", markers, markedLost, st.Dropped)
	}
}

// TestCloseLeavesUnsent: Close with the collector away returns at its
// deadline with ErrPending; the records wait in the spool for the next run.
func TestCloseLeavesUnsent(t *testing.T) {
	s := testenv.StartOTLPSink(t)
	c := testenv.StartCollector(t, s.URL, nil)
	c.Kill()
	dir := t.TempDir()
	e, _ := newExporter(t, export.Options{Endpoint: c.GRPCURL(), Insecure: true, SpoolDir: dir})
	writeUnshares(t, e, 0, 300)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.Close(ctx)
	if !errors.Is(err, export.ErrPending) || !strings.HasPrefix(err.Error(), "300 ") {
		t.Fatalf("Close: %v; want 300 records pending", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v past a 500 ms deadline", d)
	}
	c.Start()
	e2, logs := newExporter(t, export.Options{Endpoint: c.GRPCURL(), Insecure: true, SpoolDir: dir})
	closeExporter(t, e2, logs)
	if m := missing(s, e.SessionID(), 300); len(m) != 0 {
		t.Fatalf("missing %v", m)
	}
	if st := e2.Stats(); st.Sent != 300 {
		t.Fatalf("second run sent %d; want 300", st.Sent)
	}
}
