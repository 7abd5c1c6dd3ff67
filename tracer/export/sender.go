package export

import (
	"context"
	"errors"
	"os"
	"reflect"
	"time"

	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// idleWait is how long the sender sleeps when the spool has nothing new:
// it bounds how long a record waits when events pause without a Flush.
const idleWait = 200 * time.Millisecond

// batch is records read from one segment and not yet acknowledged.
type batch struct {
	seg     *segment
	end     position
	records []sdklog.Record
}

// recordBuilder turns log records into the SDK's records, which carry the
// resource and scope: the SDK makes them only through a logger, so a
// processor of ours catches each one as it is emitted.
type recordBuilder struct {
	logger log.Logger
	caught *[]sdklog.Record
}

type catcher struct{ out *[]sdklog.Record }

// OnEmit keeps a copy of r without Clone: the logger builds a new record,
// with attribute storage of its own, for every Emit and drops it after.
func (c catcher) OnEmit(_ context.Context, r *sdklog.Record) error {
	*c.out = append(*c.out, *r)
	return nil
}
func (catcher) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (catcher) Shutdown(context.Context) error                         { return nil }
func (catcher) ForceFlush(context.Context) error                       { return nil }

func newRecordBuilder(res *resource.Resource) *recordBuilder {
	out := new([]sdklog.Record)
	// Keys are unique by construction (one JSON encoder, fixed attribute
	// names): the SDK need not look for duplicates in every record.
	p := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(catcher{out}),
		sdklog.WithAttributeCountLimit(64), sdklog.WithAllowKeyDuplication())
	return &recordBuilder{logger: p.Logger(scopeName), caught: out}
}

// scopeName is the instrumentation scope of every record.
const scopeName = "github.com/nstrace/nstrace/tracer/export"

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
			e.inflight.Store(int64(len(b.records)))
		}
		err := e.sdk.Export(ctx, b.records)
		rejected, ok := partialSuccess(err)
		if err == nil || ok {
			if rejected > 0 {
				if e.rejected.Add(uint64(rejected)) == uint64(rejected) {
					e.logf("otlp: the collector rejected %d records (%v); rejections are counted as lost (cause %s) and not logged again", rejected, err, LostRejected)
				}
			}
			e.sent.Add(uint64(len(b.records)) - uint64(rejected))
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
		e.dropped.Add(uint64(len(b.records)))
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
	*e.build.caught = (*e.build.caught)[:0]
	var n, bad int64
	for n < int64(e.opts.BatchSize) {
		rec, ok := r.next()
		if !ok {
			break
		}
		n++
		lr, err := toLogRecord(rec, seg.session)
		if err != nil {
			bad++
			continue
		}
		e.build.logger.Emit(context.Background(), lr)
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
	recs := make([]sdklog.Record, len(*e.build.caught))
	copy(recs, *e.build.caught)
	return &batch{seg: seg, end: position{seg.num, r.off}, records: recs}
}

// partialSuccess reports whether err is only OTLP partial successes (the
// collector took the rest) and how many records they rejected. The SDK
// returns them as an internal type; its exported field is read by name.
func partialSuccess(err error) (rejected int64, ok bool) {
	if err == nil {
		return 0, false
	}
	ok = true
	var walk func(error)
	walk = func(err error) {
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		}
		v := reflect.ValueOf(err)
		if v.Kind() == reflect.Struct && v.Type().Name() == "PartialSuccess" {
			if f := v.FieldByName("RejectedItems"); f.IsValid() && f.CanInt() {
				rejected += f.Int()
				return
			}
		}
		ok = false
	}
	walk(err)
	return rejected, ok
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
