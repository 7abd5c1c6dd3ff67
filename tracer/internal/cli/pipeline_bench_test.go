package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
)

// The full live pipeline on one goroutine, as trace builds it: the live
// resolver over this machine's /proc (no root needed), the hold-back, the
// built-in rules and JSON Lines to a file, fed decoded events. Each row
// reports the process's CPU time per event (GC and the mount watcher
// included) and its inverse, events per CPU second: what one core keeps
// up with. Wall time per op also counts waiting for a busy machine's CPU.

// benchPid is a pid unlikely to exist (pids this high need pid_max raised
// near its limit, 4194304): a flooder's task has moved on by the time its
// events are read, so lookups through /proc find nothing.
const benchPid = 4_000_001

// benchPipeline builds the pipeline and returns it with the JSON file.
func benchPipeline(b *testing.B) (*pipeline.Pipeline, *os.File) {
	b.Helper()
	f, err := os.Create(filepath.Join(b.TempDir(), "events.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return benchPipelineTo(b, f), f
}

// benchPipelineTo builds the pipeline with its JSON Lines going to w.
func benchPipelineTo(b *testing.B, w io.Writer) *pipeline.Pipeline {
	b.Helper()
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	res := resolve.New(inv)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go func() { _ = res.WatchMounts(ctx) }() // names still resolve without the watch
	out, err := newOutput("json", w)
	if err != nil {
		b.Fatal(err)
	}
	det := detect.New(detect.DefaultRules(), detect.WithNamespaces(res), detect.WithInventory(inv), detect.WithProc("/"))
	return pipeline.New(pipeline.Options{Resolver: res, HoldBack: true, Detector: det, Sinks: []pipeline.Sink{out}})
}

// benchFlooder is the process every row's events come from: an
// unprivileged user in a user namespace of its own, created first.
func benchFlooder(p *pipeline.Pipeline, b *testing.B, at time.Time) {
	ev := event.Event{Time: at, Kind: event.Unshare, Pid: benchPid, Tid: benchPid, UID: 65534,
		Comm: "flood", Flags: unix.CLONE_NEWUSER, UserNS: 0xEFFFFFFD,
		Changes: []event.Change{{Type: event.User, Action: event.Create, From: 0xEFFFFFFD, To: benchUserNS, NsID: 1 << 40}}}
	if err := p.Event(&ev); err != nil {
		b.Fatal(err)
	}
}

const (
	benchUserNS = 0xF7000000 // the flooder's user namespace
	benchNetNS  = 0xF7000001 // a net namespace it made, joined by the join row
	benchInode  = 0xF7100000 // fresh inodes for the create row start here
)

// runPipelineBench feeds b.N events made by next and reports CPU ns and
// events per second. next must reset whatever the pipeline filled in.
func runPipelineBench(b *testing.B, p *pipeline.Pipeline, f io.Writer, next func(i int, at time.Time) *event.Event) {
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		if err := p.Event(next(i, start.Add(time.Duration(i)*time.Microsecond))); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Finish(); err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if seen := p.Counts().Seen; seen < uint64(b.N) {
		b.Fatalf("the pipeline saw %d of %d events", seen, b.N)
	}
	if n, err := writtenTo(f); err != nil || n == 0 {
		b.Fatalf("nothing written: %v", err)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
}

// writtenTo is how many bytes went to w: a file or a discardCounter.
func writtenTo(w io.Writer) (int64, error) {
	if d, ok := w.(*discardCounter); ok {
		return d.n, nil
	}
	st, err := w.(*os.File).Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// discardCounter counts what is written to it and keeps none of it.
type discardCounter struct{ n int64 }

func (d *discardCounter) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipelineCreate: unshare(CLONE_NEWUTS) in a loop, a new
// namespace (fresh inode and id) every time.
func BenchmarkPipelineCreate(b *testing.B) {
	p, f := benchPipeline(b)
	benchFlooder(p, b, time.Now())
	ev := event.Event{Kind: event.Unshare, Pid: benchPid, Tid: benchPid, UID: 65534, Comm: "flood",
		Flags: unix.CLONE_NEWUTS, UserNS: benchUserNS, Changes: make([]event.Change, 1)}
	runPipelineBench(b, p, f, func(i int, at time.Time) *event.Event {
		ev.Time, ev.Container = at, nil
		ino := benchInode + uint32(i)
		ev.Changes = append(ev.Changes[:0], event.Change{Type: event.UTS, Action: event.Create,
			From: ino - 1, To: ino, NsID: 1<<41 + uint64(i)})
		return &ev
	})
}

// BenchmarkPipelineJoin: setns into a net namespace the resolver knows
// (made earlier by the same process), over and over.
func BenchmarkPipelineJoin(b *testing.B) {
	p, f := benchPipeline(b)
	at := time.Now()
	benchFlooder(p, b, at)
	mk := event.Event{Time: at, Kind: event.Unshare, Pid: benchPid, Tid: benchPid, UID: 65534,
		Comm: "flood", Flags: unix.CLONE_NEWNET, UserNS: benchUserNS,
		Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 0xEFFFFFF9, To: benchNetNS, NsID: 1<<40 + 1}}}
	if err := p.Event(&mk); err != nil {
		b.Fatal(err)
	}
	if err := p.Finish(); err != nil {
		b.Fatal(err)
	}
	ev := event.Event{Kind: event.Setns, Pid: benchPid, Tid: benchPid, UID: 65534, Comm: "flood",
		Flags: unix.CLONE_NEWNET, UserNS: benchUserNS, Changes: make([]event.Change, 1)}
	runPipelineBench(b, p, f, func(_ int, at time.Time) *event.Event {
		ev.Time, ev.Container = at, nil
		ev.Changes = append(ev.Changes[:0], event.Change{Type: event.Net, Action: event.Join,
			From: 0xEFFFFFF9, To: benchNetNS, NsID: 1<<40 + 1})
		return &ev
	})
}

// BenchmarkPipelineFailure: setns into the host's net namespace, refused
// with EPERM, over and over.
func BenchmarkPipelineFailure(b *testing.B) {
	p, f := benchPipeline(b)
	benchFlooder(p, b, time.Now())
	target := &event.Target{Type: event.Net, Inode: 0xEFFFFFF9}
	ev := event.Event{Kind: event.Setns, Pid: benchPid, Tid: benchPid, UID: 65534, Comm: "flood",
		Flags: unix.CLONE_NEWNET, UserNS: benchUserNS, Errno: syscall.EPERM}
	runPipelineBench(b, p, f, func(_ int, at time.Time) *event.Event {
		ev.Time, ev.Container, ev.Target = at, nil, target
		return &ev
	})
}

// BenchmarkPipelineChurn: what nstrace sees of nsbench's setns churn with
// flood accounting on: only the joins back into the host's uts namespace,
// each from a namespace the previous one did not leave (the joins away
// were counted, not sent), by a live thread (this one, so /proc answers),
// with the process fields and the namespaces (Where) a root process's
// records carry.
func BenchmarkPipelineChurn(b *testing.B) {
	p, f := benchPipeline(b)
	benchChurn(b, p, f)
}

// BenchmarkPipelineChurnNoWrite is BenchmarkPipelineChurn with the lines
// encoded but not written: the CPU the consumer spends besides write(2).
func BenchmarkPipelineChurnNoWrite(b *testing.B) {
	var d discardCounter
	benchChurn(b, benchPipelineTo(b, &d), &d)
}

// benchChurn runs BenchmarkPipelineChurn's events through p to f.
func benchChurn(b *testing.B, p *pipeline.Pipeline, f io.Writer) {
	tid := uint32(unix.Gettid())
	const away = 0xF7200000
	proc := &event.Process{Exe: "/usr/local/bin/nsbench",
		Args: []string{"/usr/local/bin/nsbench", "workload", "-name", "setns", "-duration", "400ms", "-cpu", "0"},
		Ancestors: []event.Ancestor{{Pid: 4102, Comm: "nsbench", Exe: "/usr/local/bin/nsbench"},
			{Pid: 3823, Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 3801, Comm: "sshd", Exe: "/usr/sbin/sshd"},
			{Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}}}
	ev := event.Event{Kind: event.Setns, Pid: uint32(os.Getpid()), Tid: tid, Ppid: 4102, Comm: "nsbench",
		CgroupID: 1, UserNS: 0xEFFFFFFD, Flags: unix.CLONE_NEWUTS, Auid: event.NoAuid, Caps: 1<<41 - 1, HasCreds: true,
		Process: proc, Changes: make([]event.Change, 1)}
	// Where the kernel says the thread is after each join: this thread's
	// namespaces, the host's uts one it joins.
	for _, ty := range []event.NsType{event.Mnt, event.Pid, event.IPC} {
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/"+ty.String(), &st); err != nil {
			b.Fatal(err)
		}
		ev.Where[ty] = uint32(st.Ino)
	}
	ev.Where[event.UTS] = 0xEFFFFFFE
	runPipelineBench(b, p, f, func(_ int, at time.Time) *event.Event {
		ev.Time, ev.Container = at, nil
		ev.Changes = append(ev.Changes[:0], event.Change{Type: event.UTS, Action: event.Join,
			From: away, To: 0xEFFFFFFE, NsID: 1})
		return &ev
	})
}
