// Package reserve allocates a regular file's blocks for each write just
// before it, for the writers of event lines (JSON Lines, sessions).
package reserve

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Reserver allocates a regular file's blocks for each write just before
// it, in one call for the whole buffer. Without it the filesystem reserves
// a block for each page the write dirties (delayed allocation), which under
// churn costs more than the copy, and contends with writeback allocating
// them. Only the range about to be written is allocated, FALLOC_FL_KEEP_SIZE:
// the file's size and contents are as without it, and nothing is left
// allocated past its end.
type Reserver struct {
	rc       syscall.RawConn // nil: not reserving (not a regular file, or the filesystem cannot)
	appends  bool            // opened O_APPEND: writes go to the end, not the offset
	reserved int64           // bytes allocated ahead of writes (Reserved)

	// What the call made through rc takes and gives: made once, so
	// that a write allocates nothing.
	n    int
	err  error
	call func(fd uintptr)
}

// New reserves for w when it is a regular file (any other w, nil
// included, gets a Reserver that does nothing). It reaches the
// descriptor through SyscallConn, which neither takes it out of
// non-blocking mode (os.File.Fd would; a pipe's writer relies on it) nor
// lets it be closed under the call.
func New(w io.Writer) *Reserver {
	f, ok := w.(*os.File)
	if !ok {
		return &Reserver{}
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return &Reserver{}
	}
	r := &Reserver{}
	_ = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return
		}
		if fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0); err == nil {
			r.rc, r.appends = rc, fl&unix.O_APPEND != 0
		}
	})
	r.call = func(fd uintptr) { r.err = r.allocate(int(fd), r.n) }
	return r
}

// Before allocates the n bytes the next write puts in the file. A
// filesystem that cannot (or a full disk) stops the reserving; the write
// itself says what is wrong, if anything.
func (r *Reserver) Before(n int) {
	if r.rc == nil {
		return
	}
	r.n, r.err = n, nil
	if err := r.rc.Control(r.call); err != nil {
		r.err = err
	}
	if r.err != nil {
		r.rc = nil
		return
	}
	r.reserved += int64(n)
}

// allocate allocates n bytes where the next write to fd goes.
func (r *Reserver) allocate(fd, n int) error {
	var at int64
	if r.appends {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		at = st.Size
	} else {
		var err error
		if at, err = unix.Seek(fd, 0, io.SeekCurrent); err != nil {
			return err
		}
	}
	return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, at, int64(n))
}

// Reserved is how many bytes were allocated ahead of writes.
func (r *Reserver) Reserved() int64 { return r.reserved }
