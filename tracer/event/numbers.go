package event

import (
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// Numbers remembers the decimal forms of numbers recently written, the
// second of the last time written, the process fields of the processes
// last written (processcache.go), and the heads and changes of the lines
// last written (headcache.go, changecache.go). A stream of events repeats
// the same pids, inodes, ids, seconds and processes over and over, and
// copying what was formatted costs a fraction of formatting it again:
// under setns churn the process fields (capabilities, argv, ancestors) are
// most of each line. An encoder owns one; the zero value is ready, and a
// nil *Numbers formats every time.
type Numbers struct {
	slots   [512]numberSlot
	times   encode.Times
	procs   processCache
	heads   headCache   // headcache.go
	changes changeCache // changecache.go
}

type numberSlot struct {
	v      uint64
	n      uint8 // digits in buf; 0: empty
	digits [20]byte
}

// Append appends v in decimal.
func (c *Numbers) Append(b []byte, v uint64) []byte {
	if c == nil || v < 1000 { // short enough that formatting is as cheap
		return strconv.AppendUint(b, v, 10)
	}
	s := &c.slots[(v^v>>9^v>>18)%uint64(len(c.slots))]
	if s.n == 0 || s.v != v {
		s.v = v
		s.n = uint8(len(strconv.AppendUint(s.digits[:0], v, 10)))
	}
	return append(b, s.digits[:s.n]...)
}

// appendTime appends t as encode.AppendTime does.
func (c *Numbers) appendTime(b []byte, t time.Time) []byte {
	if c == nil {
		return encode.AppendTime(b, t)
	}
	return c.times.Append(b, t)
}
