package detect

import (
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// probe is what /proc said of a task's identity namespaces, and a time
// before it was read: for the events that do not say where their task is
// (event.Where), the kernel's own, which most do. Under setns churn with
// flood accounting on, the consumer sees only a task's joins into the
// host's namespaces: each one disagrees with where the task was last seen,
// resets its record, and, without Where, needs its identity namespaces read
// again (three path lookups an event). Yet a
// reading taken after an event happened tells as much about that event as
// any later one: all of them come after it. So a reading is reused for the
// events that happened before it was taken, the backlog the consumer is
// still catching up on, and taken afresh for any later event.
type probe struct {
	at    int64                      // Unix ns before the reading; 0: none
	known uint8                      // bit i: ns[i] was read (0 where /proc had none)
	ns    [len(identityTypes)]uint32 // by index in identityTypes
}

// probeNs reads t's namespace of identityTypes[i] from /proc, or reuses the
// reading taken since ev happened; 0 when /proc has none.
func (d *Detector) probeNs(ev *event.Event, t *task, i int) uint32 {
	p := &t.probe
	if at := ev.Time.UnixNano(); p.at == 0 || p.at < at {
		*p = probe{at: time.Now().UnixNano()}
	}
	if p.known&(1<<i) == 0 {
		p.ns[i] = readNsInode(d.o.proc, ev.Tid, identityTypes[i])
		p.known |= 1 << i
		// Every task has a mount namespace (no kernel builds without
		// them): none to read means the task is gone (exited, reaped,
		// a zombie) or /proc is closed to us, and the other links would
		// fail alike. A short-lived child's events are often read after
		// it exited; each failed lookup costs a walk of /proc.
		if p.ns[i] == 0 && identityTypes[i] == event.Mnt {
			p.known = 1<<len(identityTypes) - 1
		}
	}
	return p.ns[i]
}

// readNsInode reads a namespace link; tests count the reads.
var readNsInode = procfs.NsInode
