package export

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"time"
)

// idleWait is how long the sender sleeps when the spool has nothing new:
// it bounds how long a record waits when events pause without a Flush.
const idleWait = 200 * time.Millisecond

// batch is records read from one segment and not yet acknowledged, as
// the request that carries them.
type batch struct {
	seg *segment
	end position
	n   int64  // records
	req []byte // the ExportLogsServiceRequest, in buf
	buf []byte // the sender's buffer
}

// maxBatchBytes bounds a request's encoded size, well under the 4 MiB a
// gRPC server takes by default.
const maxBatchBytes = 2 << 20

// linger is how long a part batch may wait for more records before it is
// sent: a bound on the delay it adds.
const linger = 100 * time.Millisecond

// maxInFlight is how many requests may await the collector at once: one
// round trip's latency (the collector's work, the network) would
// otherwise bound the rate.
const maxInFlight = 4

// flight is a batch being sent by a goroutine of its own.
type flight struct {
	b        *batch
	done     chan struct{} // closed when acknowledged, or at the stop
	ok       bool          // acknowledged
	rejected int64         // of its records, refused in a partial success
	msg      string        // the collector's message about them
}

// run sends until Close: read batches, export up to maxInFlight at once,
// each retried with backoff until acknowledged, and advance the cursor in
// the spool's order, as far as every batch before is acknowledged.
func (e *Exporter) run(ctx context.Context) {
	defer close(e.done)
	var files segFiles
	defer files.close()
	var window []*flight      // oldest first
	draining := false         // Close was called
	var lingerSince time.Time // a part batch has waited since
	var sending sync.WaitGroup
	defer func() {
		// Stopped: no sender writes anything more; those acknowledged in
		// order still move the cursor, the rest stay in the spool.
		sending.Wait()
		for len(window) > 0 && window[0].ok {
			e.finish(window[0])
			window = window[1:]
		}
		for _, f := range window {
			e.stopWithBatch(f.b)
		}
	}()
	for {
		for len(window) > 0 && isDone(window[0]) {
			if !window[0].ok {
				return // its sender saw the stop
			}
			e.finish(window[0])
			window = window[1:]
		}
		// With nothing out, a part batch waits up to linger for more;
		// with a request out, another goes only with a whole batch: so
		// records gather into big requests instead of many small ones,
		// each paying a round trip, an fsync and a cursor write.
		if len(window) == 0 && !draining {
			if p := e.sp.pending(); p > 0 && p < int64(e.opts.BatchSize) {
				if lingerSince.IsZero() {
					lingerSince = time.Now()
				}
				if wait := linger - time.Since(lingerSince); wait > 0 {
					stop, closed := e.pause(ctx, wait)
					if stop {
						return
					}
					draining = draining || closed
					continue
				}
			}
		}
		if len(window) == 0 || (len(window) < maxInFlight && e.sp.pending() >= int64(e.opts.BatchSize)) {
			b := e.nextBatch(&files)
			if b == nil && len(window) == 0 {
				e.Flush()
				b = e.nextBatch(&files)
			}
			if b != nil {
				lingerSince = time.Time{}
				f := &flight{b: b, done: make(chan struct{})}
				e.inflight.Add(b.n)
				window = append(window, f)
				sending.Add(1)
				go func() {
					defer sending.Done()
					e.send(ctx, f)
				}()
				continue
			}
		}
		if len(window) == 0 {
			if draining {
				return // read once more since Close: nothing left
			}
			select {
			case <-e.drain:
				// What Close wrote may have come after the read above.
				draining = true
				continue
			default:
			}
			stop, closed := e.pause(ctx, idleWait)
			if stop {
				return
			}
			draining = closed
			continue
		}
		var more <-chan struct{} // new records, when there is room for them
		if len(window) < maxInFlight {
			more = e.kick
		}
		select {
		case <-ctx.Done():
			return
		case <-window[0].done:
		case <-more:
		}
	}
}

// pause waits up to d for new records in the spool, Close or the stop. It
// reports whether to stop, and whether Close was called.
func (e *Exporter) pause(ctx context.Context, d time.Duration) (stop, closed bool) {
	select {
	case <-ctx.Done():
		return true, false
	case <-e.drain:
		return false, true
	case <-e.kick:
	case <-time.After(d):
	}
	return false, false
}

func isDone(f *flight) bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// send exports f's batch until the collector acknowledges it or ctx ends.
func (e *Exporter) send(ctx context.Context, f *flight) {
	defer close(f.done)
	backoff := time.Duration(0)
	for {
		callCtx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
		rejected, msg, err := e.cl.export(callCtx, f.b.req)
		cancel()
		if err == nil {
			f.ok, f.rejected, f.msg = true, min(max(rejected, 0), f.b.n), msg
			if e.failing.CompareAndSwap(true, false) {
				e.logf("otlp: sending to the collector again")
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		e.retries.Add(1)
		if e.failing.CompareAndSwap(false, true) {
			e.logf("otlp: export to %s failed, retrying with backoff: %v", e.endpointName(), err)
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), e.opts.MaxBackoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// finish counts an acknowledged batch and moves the cursor past it.
func (e *Exporter) finish(f *flight) {
	if f.rejected > 0 && e.rejected.Add(uint64(f.rejected)) == uint64(f.rejected) {
		e.logf("otlp: the collector rejected %d records (%s); rejections are counted as lost (cause %s) and not logged again",
			f.rejected, f.msg, LostRejected)
	}
	e.sent.Add(uint64(f.b.n - f.rejected))
	if err := e.sp.ack(f.b.end); err != nil {
		e.logf("otlp spool: %v", err)
	}
	e.inflight.Add(-f.b.n)
	e.bufs = append(e.bufs, f.b.buf[:0])
}

// nextBatch reads a batch into a request buffer no batch in flight uses.
func (e *Exporter) nextBatch(files *segFiles) *batch {
	var buf []byte
	if n := len(e.bufs); n > 0 {
		buf = e.bufs[n-1]
		e.bufs = e.bufs[:n-1]
	}
	b := e.readBatch(files, buf)
	if b == nil && buf != nil {
		e.bufs = append(e.bufs, buf)
	}
	return b
}

// stopWithBatch leaves an unacknowledged batch for the next start; when
// its segment was dropped to bound the spool meanwhile, the spool no
// longer holds it, so its records count as dropped.
// Those it holds stay counted in flight: unacknowledged, pending.
func (e *Exporter) stopWithBatch(b *batch) {
	if !e.sp.holds(b.seg) {
		e.inflight.Add(-b.n)
		e.dropped.Add(uint64(b.n))
	}
}

// readBatch reads up to BatchSize records the sender has not read.
// The request is encoded into buf, which it then owns.
func (e *Exporter) readBatch(files *segFiles, buf []byte) *batch {
	seg, from, to := e.sp.readable()
	if seg == nil || from >= to {
		return nil
	}
	f, err := files.open(seg, e.sp.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // dropped since: counted by the spool
	}
	if err != nil {
		e.logf("otlp spool: %v", err)
		return nil
	}
	// Sync through the reader's descriptor: what is sent is first on
	// disk, away from the ring reader's path.
	if err := f.Sync(); err != nil {
		e.logf("otlp spool: sync: %v", err)
	}
	r := newSegmentReader(f, from, to, files.buf)
	r.block = files.block
	defer func() { files.buf, files.block = r.buf, r.block[:0] }()
	// The records are encoded where the request has them, after room for
	// its header.
	room := e.headerRoom()
	if buf == nil {
		buf = make([]byte, 0, room+maxBatchBytes+maxBatchBytes/8) // most batches fit
	}
	recs := append(buf[:0], make([]byte, room)...)
	var n, bad int64
	// A batch ends at a block's end: the cursor names frames.
	for r.inBlock() || (n < int64(e.opts.BatchSize) && len(recs)-room < maxBatchBytes) {
		rec, ok := r.next()
		if !ok {
			break
		}
		n++
		var err error
		if recs, err = e.enc.appendRecord(recs, rec, seg.session); err != nil {
			bad++
		}
	}
	if n > 0 {
		// Past the cursor with the rest: counted as those that did not read.
		n += r.damaged
		bad += r.damaged
	}
	if n == 0 {
		if lost := e.sp.skipRest(seg, from); lost > 0 {
			e.dropped.Add(lost)
			e.logf("otlp spool: segment %d unreadable from byte %d; its %d records left are counted as lost (cause export)", seg.num, from, lost)
		}
		return nil
	}
	if !e.sp.advance(seg, from, r.off, n) {
		return nil // dropped while read: counted by the spool
	}
	if bad > 0 {
		e.dropped.Add(uint64(bad))
		e.logf("otlp spool: %d records unreadable; counted as lost (cause export)", bad)
	}
	return &batch{seg: seg, end: position{seg.num, r.off}, n: n - bad, req: e.request(recs, room), buf: recs}
}

// headerRoom is the most bytes request writes before the records.
func (e *Exporter) headerRoom() int {
	return 2*(1+binary.MaxVarintLen64) + len(e.resource) + len(e.scope)
}

// request wraps the encoded log records in buf[room:] into an
// ExportLogsServiceRequest, writing its header just before them: one
// ResourceLogs with this host's resource, one ScopeLogs.
func (e *Exporter) request(buf []byte, room int) []byte {
	recs := len(buf) - room
	scopeLen := len(e.scope) + recs
	rlLen := len(e.resource) + 1 + uvarintLen(uint64(scopeLen)) + scopeLen
	hdr := binary.AppendUvarint(appendTag(buf[:0:room], fReqResourceLogs, wireBytes), uint64(rlLen))
	hdr = append(hdr, e.resource...)
	hdr = binary.AppendUvarint(appendTag(hdr, fRLScopeLogs, wireBytes), uint64(scopeLen))
	hdr = append(hdr, e.scope...)
	start := room - len(hdr)
	copy(buf[start:room], hdr)
	return buf[start:]
}

// segFiles keeps the sender's segment open between batches.
type segFiles struct {
	num   uint64
	f     *os.File
	buf   []byte // the segment reader's, kept between batches
	block []byte // its unpacked block, likewise
}

func (s *segFiles) open(seg *segment, dir string) (*os.File, error) {
	if s.f != nil && s.num == seg.num {
		return s.f, nil
	}
	s.close()
	f, err := os.Open(seg.name(dir))
	if err != nil {
		return nil, err
	}
	s.f, s.num = f, seg.num
	return f, nil
}

func (s *segFiles) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// endpointName names the collector in messages.
func (e *Exporter) endpointName() string {
	if e.opts.Endpoint != "" {
		return e.opts.Endpoint
	}
	return "the OTEL_EXPORTER_OTLP_ENDPOINT collector"
}
