package session

import "golang.org/x/sys/unix"

// reserver allocates the blocks of a plain session file's next write just
// before it, the whole buffer in one fallocate(2). Without it the
// filesystem reserves a block for each page the write dirties (delayed
// allocation), which under churn costs more than copying the bytes, and
// contends with writeback allocating them. Only the range about to be
// written is allocated, FALLOC_FL_KEEP_SIZE: the file's size and bytes are
// as without it, and nothing stays allocated past its end.
type reserver struct {
	fd       int   // -1: not reserving (compressed, a stream, or the filesystem cannot)
	appends  bool  // opened O_APPEND: each write goes to the file's end
	reserved int64 // bytes allocated ahead of writes, for tests
}

var noReserve = reserver{fd: -1}

// before allocates the n bytes the next write puts in the file at offset
// at (or, appending, at its end). A filesystem that cannot, or a full
// disk, stops the reserving: the write itself says what is wrong, if
// anything.
func (r *reserver) before(at int64, n int) {
	if r.fd < 0 {
		return
	}
	if r.appends {
		var st unix.Stat_t
		if unix.Fstat(r.fd, &st) != nil {
			r.fd = -1
			return
		}
		at = st.Size
	}
	if unix.Fallocate(r.fd, unix.FALLOC_FL_KEEP_SIZE, at, int64(n)) != nil {
		r.fd = -1
		return
	}
	r.reserved += int64(n)
}
