package export

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
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
	req []byte // the ExportLogsServiceRequest; the sender's buffer
}

// maxBatchBytes bounds a request's encoded size, well under the 4 MiB a
// gRPC server takes by default.
const maxBatchBytes = 2 << 20

// run sends until Close: read a batch, export it, retry with backoff until
// acknowledged, advance the cursor.
func (e *Exporter) run(ctx context.Context) {
	defer close(e.done)
	var files segFiles
	defer files.close()
	var b *batch
	backoff := time.Duration(0)
	failing := false
	for {
		if b == nil {
			b = e.readBatch(&files)
			if b == nil {
				e.Flush()
				b = e.readBatch(&files)
			}
			if b == nil {
				select {
				case <-e.drain:
					return
				default:
				}
				select {
				case <-ctx.Done():
					return
				case <-e.kick:
				case <-time.After(idleWait):
				}
				continue
			}
			e.inflight.Store(b.n)
		}
		callCtx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
		rejected, msg, err := e.cl.export(callCtx, b.req)
		cancel()
		if err == nil {
			rejected = min(max(rejected, 0), b.n)
			if rejected > 0 {
				if e.rejected.Add(uint64(rejected)) == uint64(rejected) {
					e.logf("otlp: the collector rejected %d records (%s); rejections are counted as lost (cause %s) and not logged again", rejected, msg, LostRejected)
				}
			}
			e.sent.Add(uint64(b.n - rejected))
			if err := e.sp.ack(b.end); err != nil {
				e.logf("otlp spool: %v", err)
			}
			e.inflight.Store(0)
			b, backoff = nil, 0
			if failing {
				failing = false
				e.logf("otlp: sending to the collector again")
			}
			continue
		}
		if ctx.Err() != nil {
			e.stopWithBatch(b)
			return
		}
		e.retries.Add(1)
		if !failing {
			failing = true
			e.logf("otlp: export to %s failed, retrying with backoff: %v", e.endpointName(), err)
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), e.opts.MaxBackoff)
		select {
		case <-ctx.Done():
			e.stopWithBatch(b)
			return
		case <-time.After(backoff):
		}
	}
}

// stopWithBatch leaves an unacknowledged batch for the next start; when
// its segment was dropped to bound the spool meanwhile, the spool no
// longer holds it, so its records count as dropped.
func (e *Exporter) stopWithBatch(b *batch) {
	if !e.sp.holds(b.seg) {
		e.dropped.Add(uint64(b.n))
		e.inflight.Store(0)
	}
}

// readBatch reads up to BatchSize records the sender has not read.
func (e *Exporter) readBatch(files *segFiles) *batch {
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
	defer func() { files.buf = r.buf }()
	recs := e.recs[:0]
	var n, bad int64
	for n < int64(e.opts.BatchSize) && len(recs) < maxBatchBytes {
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
	e.recs = recs
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
	e.req = e.request(e.req[:0], recs)
	return &batch{seg: seg, end: position{seg.num, r.off}, n: n - bad, req: e.req}
}

// request wraps encoded log records into an ExportLogsServiceRequest:
// one ResourceLogs with this host's resource, one ScopeLogs.
func (e *Exporter) request(out, recs []byte) []byte {
	scopeLen := len(e.scope) + len(recs)
	rlLen := len(e.resource) + 1 + uvarintLen(uint64(scopeLen)) + scopeLen
	out = binary.AppendUvarint(appendTag(out, fReqResourceLogs, wireBytes), uint64(rlLen))
	out = append(out, e.resource...)
	out = binary.AppendUvarint(appendTag(out, fRLScopeLogs, wireBytes), uint64(scopeLen))
	out = append(out, e.scope...)
	return append(out, recs...)
}

// segFiles keeps the sender's segment open between batches.
type segFiles struct {
	num uint64
	f   *os.File
	buf []byte // the segment reader's, kept between batches
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
