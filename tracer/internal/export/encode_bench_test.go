package export

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// BenchmarkEncodeRecord is the sender's transcoding of one spooled setns
// record of a root process (every capability, executable, arguments, five
// ancestors) into an OTLP LogRecord: "thread" as one thread moving back
// and forth between two namespaces makes them, "repeated" as records of
// one process's threads come, "changing" with its capabilities and
// ancestors different in every record, so the memo never hits.
func BenchmarkEncodeRecord(b *testing.B) {
	ev := rootSetns()
	for _, name := range []string{"thread", "repeated", "changing"} {
		b.Run(name, func(b *testing.B) {
			var jsons [][]byte
			for i := range 64 {
				e := *ev
				e.Time = ev.Time.Add(time.Duration(i) * time.Microsecond)
				e.Changes = []event.Change{ev.Changes[0]}
				if i%2 == 1 {
					e.Changes[0].From, e.Changes[0].To = e.Changes[0].To, e.Changes[0].From
				}
				if name != "thread" {
					e.Pid = uint32(1000 + i)
				}
				if name == "changing" {
					e.Caps = 1<<41 - 1 - 1<<(i%41)
					p := *ev.Process
					p.Ancestors = append([]event.Ancestor{{Pid: uint32(2000 + i), Comm: "sh", Exe: "/bin/sh"}}, p.Ancestors...)
					e.Process = &p
				}
				jsons = append(jsons, e.AppendJSON(nil))
			}
			var c recordEncoder
			var out []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				if out, err = c.appendRecord(out[:0], spoolRecord{seq: uint64(i), kind: kindEvent, json: jsons[i%len(jsons)]}, "s"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRequestGzip is the gzip of a request of one thread's setns
// records (as BenchmarkEncodeRecord's "thread"), as the gRPC client
// compresses it: CPU per record, and the compression ratio.
func BenchmarkRequestGzip(b *testing.B) {
	ev := rootSetns()
	var c recordEncoder
	var req []byte
	const records = 1024
	observed := time.Now().UnixNano()
	for i := range records {
		ev.Time = ev.Time.Add(time.Duration(9000+i%7*1000) * time.Nanosecond)
		ev.Changes[0].From, ev.Changes[0].To = ev.Changes[0].To, ev.Changes[0].From
		var err error
		rec := spoolRecord{seq: uint64(1_000_000 + i), observed: observed + int64(i*9731), kind: kindEvent, json: ev.AppendJSON(nil)}
		if req, err = c.appendRecord(req, rec, "8c3f0a5e2b7d4e19"); err != nil {
			b.Fatal(err)
		}
	}
	var gz gzipCompressor
	var out bytes.Buffer
	b.ResetTimer()
	for range b.N {
		out.Reset()
		w, err := gz.Compress(&out)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
	b.ReportMetric(float64(len(req))/float64(out.Len()), "ratio")
	b.ReportMetric(float64(out.Len())/records, "gzip-B/record")
}

// rootSetns is a setns event of a root process as nsbench's churn makes
// them: every capability, executable, arguments, five ancestors.
func rootSetns() *event.Event {
	return &event.Event{Time: time.Unix(1_800_000_000, 0), Kind: event.Setns, Pid: 1000, Tid: 1000, Ppid: 1,
		Comm: "nsbench", Flags: syscall.CLONE_NEWUTS, CgroupID: 4242, UserNS: 4026531837,
		HasCreds: true, Auid: event.NoAuid, Caps: 1<<41 - 1,
		Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026531838, To: 4026532177}},
		Process: &event.Process{Exe: "/usr/local/bin/nsbench",
			Args: []string{"nsbench", "-nstrace", "./nstrace", "-only", "export", "-export-rates", "100000"},
			Ancestors: []event.Ancestor{{Pid: 900, Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 800, Comm: "bash", Exe: "/usr/bin/bash"},
				{Pid: 700, Comm: "sshd", Exe: "/usr/sbin/sshd"}, {Pid: 600, Comm: "sshd", Exe: "/usr/sbin/sshd"}, {Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}}}}
}
