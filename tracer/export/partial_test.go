package export_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/grpc"

	"github.com/nstrace/nstrace/tracer/export"
)

// otlpReceiver is an in-process OTLP/gRPC logs endpoint. It rejects, by
// partial success, the records whose process.pid is a multiple of rejectEvery.
type otlpReceiver struct {
	collogs.UnimplementedLogsServiceServer
	rejectEvery int64

	mu                 sync.Mutex
	accepted, rejected int
}

func (r *otlpReceiver) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
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
	r.mu.Lock()
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
	srv := grpc.NewServer()
	collogs.RegisterLogsServiceServer(srv, r)
	go srv.Serve(l)
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
	if len(lines) != 1 || !strings.Contains(lines[0], "rejected 10 records") || !strings.Contains(lines[0], "export_rejected") {
		t.Fatalf("log %q; want one line about the first rejection", lines)
	}
}
