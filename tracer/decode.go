package tracer

import (
	"bytes"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/proccache"
)

// headerSize is the part of gen.NstraceEvent before the changes: the BPF side
// sends only the header and the changes it filled.
var headerSize = int(unsafe.Offsetof(gen.NstraceEvent{}.Changes))

const changeSize = int(unsafe.Sizeof(gen.NstraceChange{}))

// decoder turns raw ring records into events without allocating: comm
// strings are interned, the record is copied into a reused struct.
type decoder struct {
	raw   gen.NstraceEvent
	comms map[[16]byte]string
	procs proccache.Cache
	// The comm decoded last: a stream of events mostly repeats it, and
	// comparing 16 bytes costs less than hashing them.
	lastRaw  [16]byte
	lastComm string
}

// procOffset is where a record's process identity starts; it is sent with
// every change slot before it.
var procOffset = int(unsafe.Offsetof(gen.NstraceEvent{}.Proc))

const (
	procArgsOffset = int(unsafe.Offsetof(gen.NstraceProc{}.Args))
)

// maxInterned bounds the comm cache; past it the cache starts over.
const maxInterned = 4096

func (d *decoder) decode(sample []byte, clock *bootClock, ev *event.Event) error {
	if len(sample) < headerSize {
		return fmt.Errorf("decode record: %d bytes, want at least %d", len(sample), headerSize)
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&d.raw)), unsafe.Sizeof(d.raw))
	copy(buf, sample)
	r := &d.raw
	n := int(r.NrChanges)
	if n > len(r.Changes) || len(sample) < headerSize+n*changeSize {
		return fmt.Errorf("decode record: %d changes in %d bytes", n, len(sample))
	}
	ev.Reset()
	ev.Time = clock.wall(r.BootNs)
	ev.Kind = event.Kind(r.Kind)
	ev.Pid, ev.Tid, ev.Ppid, ev.UID = r.Pid, r.Tid, r.Ppid, r.Uid
	ev.Comm = d.comm(r.Comm)
	ev.Flags = r.Flags
	ev.CgroupID, ev.MemCgroupID = r.CgroupId, r.MemCgroupId
	ev.UserNS = r.UserNs
	ev.Errno = syscall.Errno(r.Error)
	if r.TargetIno != 0 {
		ev.Target = &event.Target{Type: event.NsType(r.TargetType), Inode: r.TargetIno}
	}
	for i := range n {
		c := &r.Changes[i]
		ev.Changes = append(ev.Changes, event.Change{
			Type: event.NsType(c.Type), Action: event.Action(c.Action),
			From: c.From, To: c.To, NsID: c.ToId,
		})
	}
	if r.Kind != uint8(event.Destroy) {
		ev.Auid, ev.Caps, ev.HasCreds = r.Auid, r.Caps, true
	}
	ev.Where[event.Mnt], ev.Where[event.Pid] = r.WhereMnt, r.WherePid
	ev.Where[event.UTS], ev.Where[event.IPC] = r.WhereUts, r.WhereIpc
	switch r.HasProc {
	case uint8(gen.NstraceProcFormPROC_REF):
		ev.Process = d.procs.Find(r.ProcTgid, r.ProcExecId)
	case uint8(gen.NstraceProcFormPROC_WHOLE):
		na, nargs := int(r.Proc.NrAncestors), int(r.Proc.ArgsLen)
		if na > len(r.Proc.Ancestors) || nargs > len(r.Proc.Args) || len(sample) < procOffset+procArgsOffset+nargs {
			return fmt.Errorf("decode record: process with %d ancestors and %d bytes of args in %d bytes", na, nargs, len(sample))
		}
		ev.Process = d.procs.Get(&r.Proc)
	}
	return nil
}

func (d *decoder) comm(raw [16]int8) string {
	key := *(*[16]byte)(unsafe.Pointer(&raw))
	if key == d.lastRaw && d.lastComm != "" {
		return d.lastComm
	}
	if s, ok := d.comms[key]; ok {
		d.lastRaw, d.lastComm = key, s
		return s
	}
	if d.comms == nil || len(d.comms) >= maxInterned {
		d.comms = make(map[[16]byte]string)
	}
	n := bytes.IndexByte(key[:], 0)
	if n < 0 {
		n = len(key)
	}
	s := string(key[:n])
	d.comms[key] = s
	d.lastRaw, d.lastComm = key, s
	return s
}
