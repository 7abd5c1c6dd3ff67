// Package proccache turns the process identity the kernel sends with each
// event (bpf/proc.h) into shared event.Process values: decoded once per
// distinct identity (forked children share their parent's), then found by
// (pid, exec id) without allocating, since a process's events carry the
// same identity until it execs again.
//
// Nothing needs a scan of /proc at start: the kernel reads a process's
// identity when the process makes its first event, whether it started
// before nstrace or after.
package proccache

import (
	"bytes"
	"unsafe"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
)

// MaxEntries bounds the cache; past it, an arbitrary entry is forgotten
// for each new one. An entry holds at most about 3 KiB of strings
// (bpf/proc.h's bounds), so the cache holds at most about 24 MiB, and
// typically a few hundred bytes per process. A record that names a
// forgotten image has no process; the kernel sends each image whole again
// at least once a second while it makes events.
const MaxEntries = 8192

type key struct {
	tgid   uint32
	execID uint64
}

// Cache maps process images to their decoded identity. Not safe for
// concurrent use: the ring's one reader owns it.
type Cache struct {
	m      map[key]*event.Process
	same   contents // content.go
	misses uint64
	// The image found last: a stream of events mostly comes from the
	// image before, and comparing its key costs less than hashing it.
	// Forgotten with any entry the map forgets.
	lastKey  key
	lastProc *event.Process
}

// Misses is how many records named an image the cache did not hold.
func (c *Cache) Misses() uint64 { return c.misses }

// Find returns the identity a record names by tgid and exec id only, or
// nil when it is not held.
func (c *Cache) Find(tgid uint32, execID uint64) *event.Process {
	k := key{tgid, execID}
	if c.lastProc != nil && k == c.lastKey {
		return c.lastProc
	}
	p := c.m[k]
	if p == nil {
		c.misses++
		return nil
	}
	c.lastKey, c.lastProc = k, p
	return p
}

// Len is how many images the cache holds.
func (c *Cache) Len() int { return len(c.m) }

// Get returns the identity in raw, decoding it on first sight.
func (c *Cache) Get(raw *gen.NstraceProc) *event.Process {
	k := key{raw.Tgid, raw.ExecId}
	if p, ok := c.m[k]; ok {
		return p
	}
	p := c.same.get(raw)
	if len(c.m) >= MaxEntries {
		c.lastProc = nil // putBounded forgets an entry, maybe that one
	}
	c.m = putBounded(c.m, MaxEntries, k, p)
	return p
}

// Decode makes an event.Process of raw.
func Decode(raw *gen.NstraceProc) *event.Process {
	p := &event.Process{Exe: cString(raw.Exe[:])}
	flags := raw.Flags
	if arg := cString(raw.ExeArg[:]); arg != p.Exe && flags&uint8(gen.NstraceProcFlagPROC_NO_EXEC) == 0 {
		p.ExeArg = arg
	}
	n := min(int(raw.ArgsLen), len(raw.Args))
	args := bytesOf(raw.Args[:n])
	args = bytes.TrimRight(args, "\x00")
	cutArgs := flags&uint8(gen.NstraceProcFlagPROC_ARGS_CUT) != 0
	if len(args) > 0 {
		for a := range bytes.SplitSeq(args, []byte{0}) {
			if len(p.Args) == MaxArgs {
				cutArgs = true
				break
			}
			p.Args = append(p.Args, string(a))
		}
	}
	na := min(int(raw.NrAncestors), len(raw.Ancestors))
	for i := range na {
		a := &raw.Ancestors[i]
		p.Ancestors = append(p.Ancestors, event.Ancestor{Pid: a.Pid, Comm: cString(a.Comm[:]), Exe: cString(a.Exe[:])})
	}
	for _, t := range []struct {
		flag gen.NstraceProcFlag
		name string
	}{{gen.NstraceProcFlagPROC_EXE_CUT, "exe"}, {gen.NstraceProcFlagPROC_EXE_ARG_CUT, "exe_arg"},
		{0, "args"}, {gen.NstraceProcFlagPROC_ANCESTORS_CUT, "ancestors"}} {
		if (t.flag == 0 && cutArgs) || (t.flag != 0 && flags&uint8(t.flag) != 0) {
			p.Truncated = append(p.Truncated, t.name)
		}
	}
	switch {
	case flags&uint8(gen.NstraceProcFlagPROC_NS_INIT) != 0:
		p.Role = event.RoleInit
	case flags&uint8(gen.NstraceProcFlagPROC_FROM_OUTSIDE) != 0:
		p.Role = event.RoleExec
	}
	return p
}

func bytesOf(s []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

func cString(s []int8) string {
	b := bytesOf(s)
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// putBounded stores v under k in m, made on first use, first evicting an
// arbitrary entry when m holds limit: a bound on memory, not a recency order.
func putBounded[K comparable, V any](m map[K]V, limit int, k K, v V) map[K]V {
	if m == nil {
		m = make(map[K]V)
	}
	if len(m) >= limit {
		for old := range m {
			delete(m, old)
			break
		}
	}
	m[k] = v
	return m
}
