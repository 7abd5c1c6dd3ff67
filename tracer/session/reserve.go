package session

import (
	"os"

	"golang.org/x/sys/unix"
)

// reserveStep is how far ahead of its writes a session file's blocks are
// reserved.
const reserveStep = 8 << 20

// reserved keeps a session file's blocks allocated ahead of the writes
// that append to it. Without it the filesystem reserves blocks for each
// page a write dirties (delayed allocation), which under churn is a large
// part of the write's cost, and contends with writeback allocating them;
// writes into blocks already allocated only copy. The reservation is past
// the file's end (FALLOC_FL_KEEP_SIZE): the file's size and contents are
// as without it, and release gives back what was not written.
type reserved struct {
	f    *os.File // nil: not reserving (a stream, or appending)
	end  int64    // blocks are allocated up to here
	done bool     // the filesystem could not (or the disk is full): no more
}

// reserveFor starts reserving ahead in f, which this Writer created or
// truncated and alone writes: its size is what the Writer wrote.
func reserveFor(f *os.File) reserved { return reserved{f: f} }

// before reserves the blocks a write of n bytes at offset at will fill.
// A filesystem that cannot (or a full disk) stops the reserving; the
// write itself says what is wrong, if anything.
func (r *reserved) before(at int64, n int) {
	if r.f == nil || r.done || at+int64(n) <= r.end {
		return
	}
	from := max(r.end, at)
	to := from + reserveStep + int64(n)
	// Whatever a failed call allocated is past the end too: release
	// gives it back with the rest.
	r.end = to
	if err := unix.Fallocate(int(r.f.Fd()), unix.FALLOC_FL_KEEP_SIZE, from, to-from); err != nil {
		r.done = true
	}
}

// release frees the blocks reserved past size, the file's length.
func (r *reserved) release(size int64) error {
	if r.f == nil || r.end <= size {
		return nil
	}
	r.end = size
	return r.f.Truncate(size)
}
