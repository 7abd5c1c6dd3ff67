package ring

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// handoff records, record by record, what Read handed over, so that another
// goroutine can stop it at any moment, even while fn holds a record for as
// long as it likes, and know exactly which records were handed over and
// which were not.
type handoff struct {
	mu      sync.Mutex
	stopped bool
	pos     uint64 // ring position past the last record handed over
	handed  uint64 // records handed over
	started bool   // pos is set: a pass has begun
}

// claim reserves the record ending at next for handing over; false once
// stopped.
func (h *handoff) claim(next uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false
	}
	h.pos, h.handed, h.started = next, h.handed+1, true
	return true
}

func (h *handoff) isStopped() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopped
}

// busyWait bounds how long Stop waits for a record another CPU is still
// writing before counting it anyway.
const busyWait = 10 * time.Millisecond

// Stop makes Read hand over no more records, from any goroutine, even while
// Read is in fn: every record after the one fn holds stays in the ring, and
// a Read waiting for records returns ErrStopped. Stop returns how many
// records Read handed over in all and how many committed records are left
// unread now. Records committed later are counted by a later call: call it
// again once the programs are detached for the final count.
func (r *Reader) Stop() (handed uint64, left int) {
	h := &r.handoff
	h.mu.Lock()
	defer h.mu.Unlock()
	first := !h.stopped
	h.stopped = true
	r.unmap.RLock()
	defer r.unmap.RUnlock()
	if r.data == nil {
		return h.handed, 0
	}
	if !h.started {
		h.pos, h.started = atomic.LoadUint64(r.consPos), true
	}
	left = r.countFrom(h.pos)
	if first {
		r.Flush() // a Read waiting for records returns
	}
	return h.handed, left
}

// countFrom counts the committed records from pos to the producer position
// without reading them: Read never hands over past a stopped position, so
// nothing there is overwritten.
func (r *Reader) countFrom(pos uint64) int {
	n := 0
	prod := atomic.LoadUint64(r.prodPos)
	give := time.Now().Add(busyWait)
	for pos < prod {
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.ring[pos&(r.size-1)])))
		if hdr&busyBit != 0 && time.Now().Before(give) {
			runtime.Gosched()
			continue
		}
		length := uint64(hdr &^ (busyBit | discardBit))
		if length > r.size-headerSize {
			break // corrupt: what follows cannot be walked
		}
		if hdr&discardBit == 0 {
			n++
		}
		pos += headerSize + (length+7)&^7
	}
	return n
}
