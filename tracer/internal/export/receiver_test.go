package export_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"

	"github.com/nstrace/nstrace/tracer/internal/export"
)

// otlpReceiver is an in-process OTLP/gRPC logs endpoint. It rejects, by
// partial success, the records whose process.pid is a multiple of rejectEvery.
type otlpReceiver struct {
	collogs.UnimplementedLogsServiceServer
	rejectEvery int64

	mu                 sync.Mutex
	accepted, rejected int
	md                 metadata.MD // of the last request
	compression        string      // of the last request
}

// The receiver is its own stats handler: the request's compression is
// only seen there.
func (r *otlpReceiver) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (r *otlpReceiver) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (r *otlpReceiver) HandleConn(context.Context, stats.ConnStats)                       {}
func (r *otlpReceiver) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		r.mu.Lock()
		r.compression = h.Compression
		r.mu.Unlock()
	}
}

func (r *otlpReceiver) Export(ctx context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	var acc, rej int
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				reject := false
				for _, kv := range lr.Attributes {
					if kv.Key == "process.pid" && r.rejectEvery > 0 && kv.Value.GetIntValue()%r.rejectEvery == 0 {
						reject = true
					}
				}
				if reject {
					rej++
				} else {
					acc++
				}
			}
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	r.mu.Lock()
	r.md = md
	r.accepted += acc
	r.rejected += rej
	r.mu.Unlock()
	resp := &collogs.ExportLogsServiceResponse{}
	if rej > 0 {
		resp.PartialSuccess = &collogs.ExportLogsPartialSuccess{RejectedLogRecords: int64(rej), ErrorMessage: fmt.Sprintf("%d records refused", rej)}
	}
	return resp, nil
}

func (r *otlpReceiver) counts() (accepted, rejected int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted, r.rejected
}

func startReceiver(t testing.TB, rejectEvery int64) (*otlpReceiver, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{rejectEvery: rejectEvery}
	srv := grpc.NewServer(grpc.StatsHandler(r))
	collogs.RegisterLogsServiceServer(srv, r)
	go func() { _ = srv.Serve(l) }() // ends with Stop
	t.Cleanup(srv.Stop)
	return r, "grpc://" + l.Addr().String()
}

// TestPartialSuccess: records the collector rejects are counted as
// rejected (lost), not retried, and logged once.
func TestPartialSuccess(t *testing.T) {
	r, url := startReceiver(t, 10)
	e, logs := newExporter(t, export.Options{Endpoint: url, Insecure: true, SpoolDir: t.TempDir(), BatchSize: 100})
	const n = 1000
	writeUnshares(t, e, 0, n) // pids 1000..1999: every tenth is rejected
	closeExporter(t, e, logs)
	acc, rej := r.counts()
	st := e.Stats()
	if rej != n/10 || acc != n-n/10 || st.Rejected != n/10 || st.Sent != n-n/10 || st.Retries != 0 {
		t.Fatalf("receiver accepted %d rejected %d; stats %+v; want %d rejected, %d sent, no retries", acc, rej, st, n/10, n-n/10)
	}
	lines := logs.get()
	// The first batch may be cut short by a spool write: its count varies.
	if len(lines) != 1 || !regexp.MustCompile(`rejected [1-9][0-9]* records`).MatchString(lines[0]) ||
		!strings.Contains(lines[0], "export_rejected") {
		t.Fatalf("log %q; want one line about the first rejection", lines)
	}
}

func (r *otlpReceiver) header(k string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k == "grpc-encoding" {
		return r.compression
	}
	return strings.Join(r.md.Get(k), ",")
}

// TestHeadersAndCompression: --otlp-header values reach the collector, and
// requests are gzipped unless told otherwise.
func TestHeadersAndCompression(t *testing.T) {
	r, url := startReceiver(t, 0)
	e, logs := newExporter(t, export.Options{Endpoint: url, Insecure: true, SpoolDir: t.TempDir(),
		Headers: map[string]string{"x-tenant": "blue"}})
	writeUnshares(t, e, 0, 10)
	closeExporter(t, e, logs)
	if acc, _ := r.counts(); acc != 10 || r.header("x-tenant") != "blue" || r.header("grpc-encoding") != "gzip" {
		t.Fatalf("%d records, x-tenant %q, grpc-encoding %q; want 10, blue, gzip", acc, r.header("x-tenant"), r.header("grpc-encoding"))
	}
}

// TestEnvironment: with no endpoint given, the standard OTEL_EXPORTER_OTLP_*
// variables choose the collector, the protocol, headers and compression.
func TestEnvironment(t *testing.T) {
	r, url := startReceiver(t, 0)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", strings.Replace(url, "grpc://", "http://", 1))
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=green")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none")
	o := export.Options{SpoolDir: t.TempDir()}
	if !o.Enabled() {
		t.Fatal("Enabled false with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	e, logs := newExporter(t, o)
	writeUnshares(t, e, 0, 10)
	closeExporter(t, e, logs)
	if acc, _ := r.counts(); acc != 10 || r.header("x-tenant") != "green" || r.header("grpc-encoding") != "" {
		t.Fatalf("%d records, x-tenant %q, grpc-encoding %q; want 10, green, none", acc, r.header("x-tenant"), r.header("grpc-encoding"))
	}
}

// TestTrickle: a record written without Flush still goes out soon: the
// sender pulls what the writer buffers when it finds the spool empty.
func TestTrickle(t *testing.T) {
	r, url := startReceiver(t, 0)
	e, logs := newExporter(t, export.Options{Endpoint: url, Insecure: true, SpoolDir: t.TempDir()})
	defer closeExporter(t, e, logs)
	if err := e.WriteEvent(unshare(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the record arrived without Flush", func() bool { acc, _ := r.counts(); return acc == 1 })
}

// TestWriteNeverWaitsForNetwork: with a collector that accepts and never
// answers, writing goes on at full speed into the spool.
func TestWriteNeverWaitsForNetwork(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	e, logs := newExporter(t, export.Options{Endpoint: "grpc://" + l.Addr().String(), Insecure: true, SpoolDir: t.TempDir(),
		Timeout: time.Minute})
	const n = 100000
	start := time.Now()
	writeUnshares(t, e, 0, n)
	took := time.Since(start)
	st := e.Stats()
	if st.Spooled != n || st.Sent != 0 || st.Queue != n {
		t.Fatalf("stats %+v; want all %d spooled and waiting", st, n)
	}
	if took > 10*time.Second {
		t.Fatalf("writing %d records took %v with the collector silent", n, took)
	}
	t.Logf("%d records spooled in %v with the collector silent", n, took)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := e.Close(ctx); !errors.Is(err, export.ErrPending) {
		t.Fatalf("Close: %v; want ErrPending (log %q)", err, logs.get())
	}
}
