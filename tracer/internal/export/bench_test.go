package export_test

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/export"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkExport measures the exporter's own CPU per record, all of it:
// encode, spool, read back, build the log record, send to a real
// collector (another process, so its CPU is not counted) and wait for the
// acknowledgement.
func BenchmarkExport(b *testing.B) {
	c := testenv.StartCollector(b, "", nil)
	for _, proto := range []string{"grpc", "http"} {
		b.Run(proto, func(b *testing.B) {
			url := c.GRPCURL()
			if proto == "http" {
				url = c.HTTPURL()
			}
			e, err := export.New(context.Background(), export.Options{Endpoint: url, Insecure: proto == "grpc",
				SpoolDir: b.TempDir(), Logf: func(f string, a ...any) { b.Logf(f, a...) }})
			if err != nil {
				b.Fatal(err)
			}
			events := make([]*event.Event, 1024)
			for i := range events {
				events[i] = unshare(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, wall0 := cpuTime(b), time.Now()
			for i := 0; i < b.N; i++ {
				if err := e.WriteEvent(events[i%len(events)]); err != nil {
					b.Fatal(err)
				}
			}
			e.Flush()
			for e.Stats().Sent < uint64(b.N) {
				time.Sleep(time.Millisecond)
			}
			cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
			b.StopTimer()
			if st := e.Stats(); st.Dropped != 0 || st.Rejected != 0 {
				b.Fatalf("stats %+v: records lost", st)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
			b.ReportMetric(float64(b.N)/wall.Seconds(), "records/s")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := e.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWriteEvent is the ring reader's share: encode and append to the
// spool. It allocates nothing. The collector here accepts connections and
// never answers, so the sender waits in its first export and the counts
// are the writer's alone.
func BenchmarkWriteEvent(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	e, err := export.New(context.Background(), export.Options{Endpoint: "http://" + l.Addr().String(),
		SpoolDir: b.TempDir(), Timeout: time.Minute, Logf: func(string, ...any) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		e.Close(ctx)
	}()
	ev := unshare(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.WriteEvent(ev); err != nil {
			b.Fatal(err)
		}
	}
}
