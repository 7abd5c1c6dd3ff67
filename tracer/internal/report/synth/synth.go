// Package synth makes the events of a busy container host, deterministic,
// for measuring reports at scale: the report's tests and cmd/nsbench
// record them as sessions.
package synth

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

// synth makes the events of a busy container host, as a recording that
// went through the live resolver would hold them: containers start (runc
// unshares five namespaces and clones into the new pid namespace), are
// exec'd into (five setns and a clone), and stop (their namespaces are
// destroyed); `ip netns` adds, enters and deletes named network
// namespaces; unprivileged processes are denied; the kernel drops a
// burst now and then. It is deterministic.
type synth struct {
	rng     *rand.Rand
	now     time.Time
	pid     uint32
	ino     uint32
	nsid    uint64
	ctrs    []*container
	emit    func(*event.Event)
	ev      event.Event
	n       int
	created int64 // namespaces created
}

type container struct {
	c  *event.Container
	ns [event.NumNsTypes]uint32
	id [event.NumNsTypes]uint64
}

var hostNs = map[event.NsType]uint32{
	event.IPC: 0xEFFFFFFF, event.UTS: 0xEFFFFFFE, event.User: 0xEFFFFFFD, event.Pid: 0xEFFFFFFC,
	event.Cgroup: 0xEFFFFFFB, event.Time: 0xEFFFFFFA, event.Net: 0xEFFFFFF9, event.Mnt: 0xEFFFFFF8,
}

var ctrTypes = []event.NsType{event.IPC, event.Mnt, event.Net, event.PidForChildren, event.UTS}

// Events calls emit with n events, spread over about ten minutes. The
// event is reused: emit must not keep it.
func Events(n int, emit func(*event.Event)) { EventsWith(n, 0, emit) }

// EventsWith is Events with at least about namespaces namespaces created:
// more containers start than Events' mix would start, evenly through the
// session. 0: Events' mix.
func EventsWith(n, namespaces int, emit func(*event.Event)) {
	s := &synth{rng: rand.New(rand.NewPCG(1, 2)), now: time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC),
		pid: 1000, ino: 0xF0000100, nsid: 100, emit: emit}
	for s.n < n {
		s.now = s.now.Add(time.Duration(s.rng.ExpFloat64() * float64(6*time.Millisecond)))
		if namespaces > 0 && s.created*int64(n) < int64(namespaces)*int64(s.n) {
			s.start()
			continue
		}
		switch x := s.rng.IntN(100); {
		case x < 8 || len(s.ctrs) < 3:
			s.start()
		case x < 80:
			s.exec(s.ctrs[s.rng.IntN(len(s.ctrs))])
		case x < 86 && len(s.ctrs) > 20:
			s.stop(s.rng.IntN(len(s.ctrs)))
		case x < 93:
			s.netns()
		case x < 99:
			s.denied()
		default:
			s.lost()
		}
	}
}

func (s *synth) begin(kind event.Kind, comm string, flags uint64) *event.Event {
	s.pid++
	return s.beginAs(s.pid, kind, comm, flags)
}

func (s *synth) beginAs(pid uint32, kind event.Kind, comm string, flags uint64) *event.Event {
	s.now = s.now.Add(time.Duration(5+s.rng.IntN(50)) * time.Microsecond)
	s.ev.Reset()
	s.ev.Time, s.ev.Kind, s.ev.Pid, s.ev.Tid, s.ev.Ppid, s.ev.Comm, s.ev.Flags = s.now, kind, pid, pid, pid-1, comm, flags
	return &s.ev
}

func (s *synth) done() {
	s.emit(&s.ev)
	s.n++
}

func (s *synth) newNs() (uint32, uint64) {
	s.created++
	s.ino++
	s.nsid++
	return s.ino, s.nsid
}

func (s *synth) start() {
	id := fmt.Sprintf("%016x%016x%016x%016x", s.rng.Uint64(), s.rng.Uint64(), s.rng.Uint64(), s.rng.Uint64())
	c := &container{c: &event.Container{ID: id, Runtime: "oci"}}
	ev := s.begin(event.Unshare, "runc:[1:CHILD]", unix.CLONE_NEWIPC|unix.CLONE_NEWNS|unix.CLONE_NEWNET|unix.CLONE_NEWPID|unix.CLONE_NEWUTS)
	ev.CgroupID = 5000 + uint64(len(s.ctrs))
	ev.Container = c.c
	for _, t := range ctrTypes {
		ino, nsid := s.newNs()
		c.ns[t], c.id[t] = ino, nsid
		ev.Changes = append(ev.Changes, event.Change{Type: t, Action: event.Create, From: hostNs[inventory.BaseType(t)], To: ino, NsID: nsid, Container: c.c})
	}
	s.done()
	ev = s.begin(event.Clone, "runc:[1:CHILD]", 0)
	ev.Container = c.c
	ev.Changes = append(ev.Changes, event.Change{Type: event.Pid, Action: event.Join, From: hostNs[event.Pid],
		To: c.ns[event.PidForChildren], NsID: c.id[event.PidForChildren], Container: c.c})
	s.done()
	s.ctrs = append(s.ctrs, c)
}

func (s *synth) exec(c *container) {
	s.pid++
	for _, t := range ctrTypes {
		ev := s.beginAs(s.pid, event.Setns, "runc:[1:CHILD]", t.CloneFlag())
		ev.Changes = append(ev.Changes, event.Change{Type: t, Action: event.Join, From: hostNs[inventory.BaseType(t)], To: c.ns[t], NsID: c.id[t], Container: c.c})
		s.done()
	}
	ev := s.begin(event.Clone, "runc:[1:CHILD]", 0)
	ev.Container = c.c
	ev.Changes = append(ev.Changes, event.Change{Type: event.Pid, Action: event.Join, From: hostNs[event.Pid],
		To: c.ns[event.PidForChildren], NsID: c.id[event.PidForChildren], Container: c.c})
	s.done()
}

func (s *synth) stop(i int) {
	c := s.ctrs[i]
	s.ctrs = append(s.ctrs[:i], s.ctrs[i+1:]...)
	for _, t := range ctrTypes {
		ev := s.begin(event.Destroy, "runc", 0)
		ev.Changes = append(ev.Changes, event.Change{Type: inventory.BaseType(t), Action: event.ActionDestroy, To: c.ns[t], NsID: c.id[t]})
		s.done()
	}
}

func (s *synth) netns() {
	name := fmt.Sprintf("tenant-%d", s.rng.IntN(400))
	ino, nsid := s.newNs()
	ev := s.begin(event.Unshare, "ip", unix.CLONE_NEWNET)
	ev.Changes = append(ev.Changes, event.Change{Type: event.Net, Action: event.Create, From: hostNs[event.Net], To: ino, NsID: nsid, Name: name})
	s.done()
	for range 1 + s.rng.IntN(4) {
		ev = s.begin(event.Setns, "ip", unix.CLONE_NEWNET)
		ev.Changes = append(ev.Changes, event.Change{Type: event.Net, Action: event.Join, From: hostNs[event.Net], To: ino, NsID: nsid, Name: name})
		s.done()
	}
}

func (s *synth) denied() {
	ev := s.begin(event.Unshare, "unshare", unix.CLONE_NEWNET|unix.CLONE_NEWNS)
	ev.UID, ev.Errno = 1000+uint32(s.rng.IntN(5)), syscall.EPERM
	s.done()
}

func (s *synth) lost() {
	s.ev.Reset()
	s.ev.Time, s.ev.Kind, s.ev.Lost = s.now, event.Lost, uint64(1+s.rng.IntN(300))
	s.emit(&s.ev)
}

// WriteSession records n events (with at least about namespaces
// namespaces, as EventsWith) to a new session file at path, sealed as
// nstrace trace -w seals without a key: with the hash chain.
func WriteSession(path string, n, namespaces int) error {
	h := session.Header{Version: "synth", Host: "busy-host", Kernel: "6.18.0", Hooks: []session.Hook{
		{Name: "unshare", Via: "tracepoint", Required: true, Attached: true},
		{Name: "setns", Via: "tracepoint", Required: true, Attached: true},
		{Name: "clone", Via: "tracepoint", Attached: true},
		{Name: "destroy", Via: "fentry", Attached: true},
	}}
	now := func() time.Time { return time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC) }
	w, err := session.Create(path, seal.Sealed(session.Options{Header: h, Now: now},
		seal.NewSealer(nil, seal.Options{Now: now})))
	if err != nil {
		return err
	}
	var werr error
	EventsWith(n, namespaces, func(ev *event.Event) {
		if werr == nil {
			werr = w.WriteEvent(ev)
		}
	})
	if err := w.Close(); werr == nil {
		werr = err
	}
	return werr
}
