package export_test

import (
	"context"
	"net"
	"strings"
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
	for _, proto := range []string{"grpc", "http", "grpc-full", "grpc-full-nogzip", "grpc-thread"} {
		b.Run(proto, func(b *testing.B) {
			url := c.GRPCURL()
			if proto == "http" {
				url = c.HTTPURL()
			}
			comp := ""
			if strings.HasSuffix(proto, "-nogzip") {
				comp = "none"
			}
			e, err := export.New(context.Background(), export.Options{Endpoint: url, Insecure: proto != "http",
				Compression: comp, SpoolDir: b.TempDir(), Logf: func(f string, a ...any) { b.Logf(f, a...) }})
			if err != nil {
				b.Fatal(err)
			}
			events := make([]*event.Event, 1024)
			for i := range events {
				events[i] = unshare(i)
				switch {
				case strings.Contains(proto, "-full"):
					events[i] = fullSetns(i)
				case strings.Contains(proto, "-thread"):
					events[i] = threadSetns(i)
				}
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

// fullSetns is a setns record as a root process's writes it: every
// capability, the executable, its arguments and five ancestors (about
// 1.3 KB of JSON, as the bench's churn makes).
func fullSetns(i int) *event.Event {
	ev := unshare(i)
	ev.Kind, ev.Comm = event.Setns, "nsbench"
	ev.HasCreds, ev.Auid, ev.Caps = true, event.NoAuid, 1<<41-1
	ev.Changes[0].Action = event.Join
	ev.Process = &event.Process{Exe: "/usr/local/bin/nsbench",
		Args: []string{"nsbench", "-nstrace", "./nstrace", "-only", "export", "-export-rates", "100000"},
		Ancestors: []event.Ancestor{{Pid: 900, Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 800, Comm: "bash", Exe: "/usr/bin/bash"},
			{Pid: 700, Comm: "sshd", Exe: "/usr/sbin/sshd"}, {Pid: 600, Comm: "sshd", Exe: "/usr/sbin/sshd"}, {Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}}}
	return ev
}

// threadSetns is a setns record of one thread moving back and forth
// between two namespaces, as the bench's churn makes them.
func threadSetns(i int) *event.Event {
	ev := fullSetns(i)
	ev.Pid, ev.Tid = 1000, 1000
	ev.Changes[0].From, ev.Changes[0].To = 4026531838, 4026532177
	if i%2 == 1 {
		ev.Changes[0].From, ev.Changes[0].To = ev.Changes[0].To, ev.Changes[0].From
	}
	return ev
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
	for _, name := range []string{"unshare", "setns-full"} {
		b.Run(name, func(b *testing.B) {
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
			if name == "setns-full" {
				ev = fullSetns(1)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev.Time = ev.Time.Add(time.Microsecond)
				if err := e.WriteEvent(ev); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			e.Flush()
			// The spool's size per record: how many records its bound holds.
			if st := e.Stats(); st.Dropped == 0 {
				b.ReportMetric(float64(st.SpoolBytes)/float64(b.N), "spool-B/record")
			}
		})
	}
}
