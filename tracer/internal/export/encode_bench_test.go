package export

import (
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
	ev := &event.Event{Time: time.Unix(1_800_000_000, 0), Kind: event.Setns, Pid: 1000, Tid: 1000, Ppid: 1,
		Comm: "nsbench", Flags: syscall.CLONE_NEWUTS, CgroupID: 4242, UserNS: 4026531837,
		HasCreds: true, Auid: event.NoAuid, Caps: 1<<41 - 1,
		Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026531838, To: 4026532177}},
		Process: &event.Process{Exe: "/usr/local/bin/nsbench",
			Args: []string{"nsbench", "-nstrace", "./nstrace", "-only", "export", "-export-rates", "100000"},
			Ancestors: []event.Ancestor{{Pid: 900, Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 800, Comm: "bash", Exe: "/usr/bin/bash"},
				{Pid: 700, Comm: "sshd", Exe: "/usr/sbin/sshd"}, {Pid: 600, Comm: "sshd", Exe: "/usr/sbin/sshd"}, {Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}}}}
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
