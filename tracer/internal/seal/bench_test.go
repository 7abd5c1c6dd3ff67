package seal_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

// BenchmarkWriteEventSealed records setns events without seals, with the
// hash chain alone (no key) and with the chain and MACs (a key), sealing
// every DefaultEvery records, so one run gives both ratios. All must
// report 0 allocs/op: a seal's few allocations are per seal, not per
// record.
func BenchmarkWriteEventSealed(b *testing.B) {
	for _, name := range []string{"s.jsonl", "s.jsonl.zst"} {
		for _, way := range []string{"unsealed", "chain", "keyed"} {
			b.Run(name+"/"+way, func(b *testing.B) {
				opts := session.Options{Header: session.Header{Host: "bench"}}
				switch way {
				case "chain":
					opts = seal.Sealed(opts, seal.NewSealer(nil, seal.Options{}))
				case "keyed":
					keyPath, _ := newKey(b)
					rk, err := seal.TakeRunKey(keyPath)
					if err != nil {
						b.Fatal(err)
					}
					opts = seal.Sealed(opts, seal.NewSealer(&rk, seal.Options{}))
				}
				w, err := session.Create(filepath.Join(b.TempDir(), name), opts)
				if err != nil {
					b.Fatal(err)
				}
				ev := events(1)[0]
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					ev.Pid = uint32(i)
					ev.Time = ev.Time.Add(time.Microsecond)
					if err := w.WriteEvent(&ev); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				w.Close()
			})
		}
	}
}

// BenchmarkSealer is what sealing adds to each record alone, as the
// Writer drives it: each record's checksum, the hash of a 256 KiB buffer
// of records at a time, and a share of one seal every DefaultEvery
// records; chain without a key, keyed with one (a MAC and a key
// derivation more per seal). Both costs go by the byte, so it runs on a
// short record and on a root process's, whose capability names,
// command line and ancestors make it several times longer: what the
// recorder writes under setns churn by root.
func BenchmarkSealer(b *testing.B) {
	for _, rec := range []struct {
		name string
		ev   event.Event
	}{{"short", events(1)[0]}, {"root", rootEvent()}} {
		b.Run(rec.name, func(b *testing.B) {
			eachKeying(b, func(b *testing.B, rk *seal.RunKey) {
				benchmarkSealer(b, seal.NewSealer(rk, seal.Options{}), &rec.ev)
			})
		})
	}
}

// rootEvent is a setns by a root process with every capability and its
// process identity: the long record of a churn run by root.
func rootEvent() event.Event {
	ev := events(1)[0]
	ev.UID, ev.CgroupID, ev.UserNS, ev.Auid = 0, 1, 4026531837, event.NoAuid
	ev.Caps, ev.HasCreds = 1<<41-1, true
	ev.Process = &event.Process{Exe: "/usr/local/bin/churn", Args: []string{"/usr/local/bin/churn", "2000000"},
		Ancestors: []event.Ancestor{{Pid: 4012, Comm: "bash", Exe: "/usr/bin/bash"},
			{Pid: 3990, Comm: "sshd", Exe: "/usr/sbin/sshd"}, {Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}}}
	return ev
}

// eachKeying runs fn as sub-benchmark "chain" without a run key and
// "keyed" with one.
func eachKeying(b *testing.B, fn func(b *testing.B, rk *seal.RunKey)) {
	b.Run("chain", func(b *testing.B) { fn(b, nil) })
	b.Run("keyed", func(b *testing.B) {
		keyPath, _ := newKey(b)
		k, err := seal.TakeRunKey(keyPath)
		if err != nil {
			b.Fatal(err)
		}
		fn(b, &k)
	})
}

// BenchmarkSeal is one seal record alone, with and without a key: what a
// key adds to every DefaultEvery records. Its few allocations are the
// seal's, once per DefaultEvery records, not any record's.
func BenchmarkSeal(b *testing.B) {
	eachKeying(b, func(b *testing.B, rk *seal.RunKey) {
		s := seal.NewSealer(rk, seal.Options{})
		out := make([]byte, 0, 64<<10)
		b.ReportAllocs()
		for b.Loop() {
			out = s.AppendSeal(out[:0], nil)
		}
	})
}

func benchmarkSealer(b *testing.B, s *seal.Sealer, ev *event.Event) {
	line := append(ev.AppendJSON(nil), '\n')
	perBuffer := (256 << 10) / len(line)
	buf := bytes.Repeat(line, perBuffer)
	out := make([]byte, 0, 64<<10)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		due := s.Count(line)
		if i%perBuffer == perBuffer-1 {
			s.Hash(buf) // the bytes hashed, not which: a benchmark
		}
		if due {
			out = s.AppendSeal(out[:0], nil)
		}
	}
}
