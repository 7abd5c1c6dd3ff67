package proccache

import (
	"bytes"
	"encoding/binary"

	"github.com/nstrace/nstrace/gen"
	"github.com/nstrace/nstrace/tracer/event"
)

// contents finds the identity of an image already decoded under another
// (pid, exec id) whose bytes are the same: the children a process forks
// without exec (a shell's subshells, a server's workers, a container
// runtime's helpers) each send the same executable, argv and ancestors.
// Decoding them once saves the strings' allocation and, downstream, lets
// an encoder that remembers processes by value reuse their text.
type contents struct {
	m  map[string]*event.Process
	fp []byte // the fingerprint being looked up; reused
}

// maxContents bounds the distinct identities remembered; past it, an
// arbitrary one is forgotten for each new one.
const maxContents = 1024

// get returns the identity raw describes, decoding it only when no image
// with the same bytes was decoded before.
func (c *contents) get(raw *gen.NstraceProc) *event.Process {
	c.fp = fingerprint(c.fp[:0], raw)
	if p, ok := c.m[string(c.fp)]; ok {
		return p
	}
	p := Decode(raw)
	c.m = putBounded(c.m, maxContents, string(c.fp), p)
	return p
}

// fingerprint appends exactly the bytes of raw that Decode reads, each
// delimited: the rest of each fixed-size field is whatever the ring held
// before, and must not tell two equal identities apart.
func fingerprint(b []byte, raw *gen.NstraceProc) []byte {
	b = append(b, raw.Flags)
	b = appendCString(b, raw.Exe[:])
	b = appendCString(b, raw.ExeArg[:])
	n := min(int(raw.ArgsLen), len(raw.Args))
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = append(b, bytesOf(raw.Args[:n])...)
	na := min(int(raw.NrAncestors), len(raw.Ancestors))
	b = append(b, byte(na))
	for i := range na {
		a := &raw.Ancestors[i]
		b = binary.LittleEndian.AppendUint32(b, a.Pid)
		b = appendCString(b, a.Comm[:])
		b = appendCString(b, a.Exe[:])
	}
	return b
}

// appendCString appends s up to its NUL (all of it without one), then a
// NUL.
func appendCString(b []byte, s []int8) []byte {
	c := bytesOf(s)
	if i := bytes.IndexByte(c, 0); i >= 0 {
		c = c[:i]
	}
	return append(append(b, c...), 0)
}
