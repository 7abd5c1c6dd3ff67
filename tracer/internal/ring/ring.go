// Package ring reads a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) the way a
// tracer under churn needs: each pass hands over every committed record in
// place, and stores the consumer position the kernel reads once a pass (or
// every commitBytes), not once a record.
//
// Why not cilium/ebpf's ringbuf.Reader: it stores the consumer position after
// every record, and the BPF program reads that position on every reserve. At
// a million records a second its cache line bounces between the reader's CPU
// and the traced task's, and the traced task pays: nstrace's setns exit
// program took 549 ns a call with it and 220 ns with one store a pass
// (nsbench -baseline, one run).
package ring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ErrFlushed is returned by Read once Flush was called and the ring is empty.
var ErrFlushed = errors.New("ring flushed")

// ErrStopped is returned by Read once Stop was called.
var ErrStopped = errors.New("ring reading stopped")

// The record header the kernel writes before each sample (struct
// bpf_ringbuf_hdr): a length with two flag bits, and a page offset.
const (
	headerSize = 8
	busyBit    = 1 << 31 // being written: the sample is not there yet
	discardBit = 1 << 30 // reserved, then discarded: skip it
)

// commitBytes is how far a pass reads before it stores the consumer position
// anyway, so that a long pass frees room for the programs as it goes.
const commitBytes = 64 << 10

// Reader reads one ring buffer map. Read, SetDeadline and Close belong to one
// goroutine; Flush and AvailableBytes may be called from any.
type Reader struct {
	cons, data []byte  // the mmapped consumer page; producer page and data
	consPos    *uint64 // written by us, read by the kernel
	prodPos    *uint64 // written by the kernel
	ring       []byte  // the data pages
	size       uint64
	wrapped    []byte // a record that runs past the ring's end, joined
	epfd       int
	flushFd    int // an eventfd: Flush makes a waiting Read return
	flushing   bool
	deadline   time.Time
	unmap      sync.RWMutex // AvailableBytes and Stop (any goroutine) against Close
	handoff    handoff      // which records Read handed over; Stop
}

// NewReader maps m, which must be a ring buffer map, and prepares to wait on it.
func NewReader(m *ebpf.Map) (r *Reader, err error) {
	if m.Type() != ebpf.RingBuf {
		return nil, fmt.Errorf("map %s is a %s, not a ring buffer", m, m.Type())
	}
	size := int(m.MaxEntries())
	page := os.Getpagesize()
	r = &Reader{size: uint64(size), epfd: -1, flushFd: -1}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.cons, err = unix.Mmap(m.FD(), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("mmap ring consumer page: %w", err)
	}
	// The kernel offers the data pages twice in a row, so that no record
	// wraps; mapped once, they count once in our resident memory, and the
	// rare record that wraps is joined in a buffer.
	if r.data, err = unix.Mmap(m.FD(), int64(page), page+size, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("mmap ring data: %w", err)
	}
	r.consPos = (*uint64)(unsafe.Pointer(&r.cons[0]))
	r.prodPos = (*uint64)(unsafe.Pointer(&r.data[0]))
	r.ring = r.data[page:]
	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if r.flushFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	for _, fd := range []int{m.FD(), r.flushFd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err = unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return nil, fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	return r, nil
}

// Size is the ring's data capacity in bytes.
func (r *Reader) Size() int { return int(r.size) }

// AvailableBytes is how much the programs have queued and Read not yet
// consumed (as of the last stored consumer position).
func (r *Reader) AvailableBytes() int {
	r.unmap.RLock()
	defer r.unmap.RUnlock()
	if r.data == nil {
		return 0
	}
	return int(atomic.LoadUint64(r.prodPos) - atomic.LoadUint64(r.consPos))
}

// SetDeadline bounds how long Read waits for a record; zero waits for ever.
func (r *Reader) SetDeadline(t time.Time) { r.deadline = t }

// Flush makes Read hand over what is queued, then return ErrFlushed instead
// of waiting: call it once the programs are detached.
func (r *Reader) Flush() error {
	_, err := unix.Write(r.flushFd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	return err
}

// Read calls fn for each committed record, in order, until the ring is
// empty or a ring's worth has passed, and returns how many it handed over.
// With nothing queued it waits: os.ErrDeadlineExceeded once the deadline
// passes, ErrFlushed after a Flush. The sample points into the ring and is
// valid only during fn. An error from fn stops the pass and is returned; its
// record counts as read.
func (r *Reader) Read(fn func(sample []byte) error) (int, error) {
	for {
		if r.handoff.isStopped() {
			return 0, ErrStopped
		}
		n, err := r.pass(fn)
		if n > 0 || err != nil {
			return n, err
		}
		if r.flushing {
			return 0, ErrFlushed
		}
		if err := r.wait(); err != nil {
			return 0, err
		}
	}
}

// pass reads what is committed, storing the consumer position every
// commitBytes and at the end.
func (r *Reader) pass(fn func([]byte) error) (n int, err error) {
	cons := atomic.LoadUint64(r.consPos)
	stored, end := cons, cons+r.size
	defer func() {
		if cons != stored {
			atomic.StoreUint64(r.consPos, cons)
		}
	}()
	prod := cons // loaded when reached
	for cons < end {
		if cons == prod {
			if prod = atomic.LoadUint64(r.prodPos); cons == prod {
				return n, nil
			}
		}
		// An atomic load orders the sample after the kernel's xchg of the
		// header that cleared the busy bit.
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.ring[cons&(r.size-1)])))
		if hdr&busyBit != 0 {
			// Another CPU is filling it in, with preemption off: moments.
			runtime.Gosched()
			continue
		}
		length := uint64(hdr &^ (busyBit | discardBit))
		if length > r.size-headerSize {
			return n, fmt.Errorf("ring record of %d bytes at position %d: corrupt ring", length, cons)
		}
		start := (cons + headerSize) & (r.size - 1)
		next := cons + headerSize + (length+7)&^7
		if hdr&discardBit != 0 {
			cons = next
		} else {
			if !r.handoff.claim(next) {
				return n, ErrStopped // the record at cons stays for Stop to count
			}
			cons = next
			n++
			if err := fn(r.sample(start, length)); err != nil {
				return n, err
			}
		}
		if cons-stored >= commitBytes {
			atomic.StoreUint64(r.consPos, cons)
			stored = cons
		}
	}
	return n, nil
}

// sample is the record at start, joined from both ends of the ring if it
// wraps. (A header never wraps: records are 8-aligned in a ring of pages.)
func (r *Reader) sample(start, length uint64) []byte {
	if start+length <= r.size {
		return r.ring[start : start+length]
	}
	head := r.size - start
	r.wrapped = append(append(r.wrapped[:0], r.ring[start:]...), r.ring[:length-head]...)
	return r.wrapped
}

// wait blocks until the ring has data, the deadline passes, or Flush.
func (r *Reader) wait() error {
	timeout := -1
	if !r.deadline.IsZero() {
		d := time.Until(r.deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		timeout = int((d + time.Millisecond - 1) / time.Millisecond)
	}
	var evs [2]unix.EpollEvent
	n, err := unix.EpollWait(r.epfd, evs[:], timeout)
	if errors.Is(err, unix.EINTR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("epoll_wait: %w", err)
	}
	for _, ev := range evs[:n] {
		if int(ev.Fd) == r.flushFd {
			var buf [8]byte
			// Only resets the eventfd's counter; a failed read (already
			// drained) leaves nothing to act on, the flush is asked either way.
			_, _ = unix.Read(r.flushFd, buf[:])
			r.flushing = true
		}
	}
	return nil
}

// Close unmaps the ring and closes the descriptors. The map stays open.
func (r *Reader) Close() error {
	r.unmap.Lock()
	defer r.unmap.Unlock()
	var errs []error
	for _, m := range [][]byte{r.cons, r.data} {
		if m != nil {
			errs = append(errs, unix.Munmap(m))
		}
	}
	r.cons, r.data, r.ring = nil, nil, nil
	for _, fd := range []int{r.epfd, r.flushFd} {
		if fd >= 0 {
			errs = append(errs, unix.Close(fd))
		}
	}
	r.epfd, r.flushFd = -1, -1
	return errors.Join(errs...)
}
