package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// flushAt is how much the writer buffers before it writes to the spool.
const flushAt = 64 << 10

// Loss causes of the records the exporter loses: LostExport for those the
// bounded spool drops (a loss marker with it follows them), LostRejected
// for those the collector refuses (counted in Stats.Rejected).
const (
	LostExport   = "export"
	LostRejected = "export_rejected"
)

// ErrPending says records were still unacknowledged when Close's deadline
// came; they stay in the spool for the next start.
var ErrPending = errors.New("records not yet acknowledged stay in the spool")

// Exporter is the OTLP sink: WriteEvent and WriteAlert append to the spool
// (no network), a goroutine sends what the spool holds and advances its
// cursor only on the collector's acknowledgement. Write methods are safe
// for concurrent use with each other and with Stats.
type Exporter struct {
	opts    Options
	logf    func(string, ...any)
	session string
	sp      *spool
	cl      client
	cfg     *clientConfig

	// The sender's: the encoder, the resource and scope encoded once, and
	// the buffers requests are encoded into.
	enc             recordEncoder
	resource, scope []byte
	bufs            [][]byte // request buffers no batch uses

	wmu   sync.Mutex // guards the writer's fields below
	buf   []byte
	bufN  int64
	seq   uint64
	nums  event.Numbers
	wfail bool // a spool write failed: logged once

	kick    chan struct{} // wakes the sender
	drain   chan struct{} // closed by Close: send what is left, then stop
	abort   context.CancelFunc
	done    chan struct{}
	closeMu sync.Mutex
	closed  bool

	spooled, sent, rejected, dropped, retries atomic.Uint64
	inflight                                  atomic.Int64
	failing                                   atomic.Bool // exports fail: said once, and when they work again
}

// Stats are the exporter's counters and gauges, for the metrics package.
type Stats struct {
	Spooled    uint64 // records appended to the spool (loss markers included)
	Sent       uint64 // records the collector acknowledged
	Rejected   uint64 // records the collector refused in a partial success (lost, cause export_rejected)
	Dropped    uint64 // records removed unsent to keep the spool in bounds (lost, cause export)
	Retries    uint64 // export calls that failed and were retried
	Queue      int64  // records waiting: in the spool unsent, or in flight
	SpoolBytes int64  // bytes the spool takes on disk
}

// New opens the spool in o.SpoolDir (resuming what a previous run left
// unsent) and starts sending to the collector o names.
func New(ctx context.Context, o Options) (*Exporter, error) {
	if o.SpoolDir == "" {
		return nil, fmt.Errorf("no spool directory: %w", ErrUsage)
	}
	if o.SpoolSize == 0 {
		o.SpoolSize = DefaultSpoolSize
	}
	if o.SpoolSize < MinSpoolSize {
		return nil, fmt.Errorf("spool size %d below %d bytes: %w", o.SpoolSize, MinSpoolSize, ErrUsage)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 2048
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.SessionID == "" {
		var b [8]byte
		rand.Read(b[:])
		o.SessionID = hex.EncodeToString(b[:])
	}
	if len(o.SessionID) > 255 {
		return nil, fmt.Errorf("session id longer than 255 bytes: %w", ErrUsage)
	}
	e := &Exporter{opts: o, logf: o.Logf, session: o.SessionID,
		kick: make(chan struct{}, 1), drain: make(chan struct{}), done: make(chan struct{})}
	if e.logf == nil {
		e.logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, "nstrace: "+f+"\n", a...) }
	}
	cl, cfg, err := newClient(&o)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	e.cl, e.cfg = cl, cfg
	res, err := newResource(ctx, o.Version)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("otlp resource: %w", err), cl.close())
	}
	e.resource, e.scope = encodeResource(res), encodeScope()
	if e.sp, err = openSpool(o.SpoolDir, o.SpoolSize, o.SessionID); err != nil {
		return nil, errors.Join(err, cl.close())
	}
	if e.sp.cut > 0 {
		e.logf("otlp spool %s: cut %d bytes after the last whole record (a write cut short by a crash, or damage)", o.SpoolDir, e.sp.cut)
	}
	sendCtx, cancel := context.WithCancel(context.Background())
	e.abort = cancel
	go e.run(sendCtx)
	return e, nil
}

// WriteEvent appends ev to the spool. It does not keep ev and does no
// network I/O; it allocates nothing in steady state.
func (e *Exporter) WriteEvent(ev *event.Event) error {
	e.wmu.Lock()
	e.seq++
	b, start := beginRecord(e.buf)
	b = ev.AppendJSONWith(b, &e.nums)
	e.endRecord(b, start, kindEvent)
	if len(e.buf) >= flushAt {
		e.flushLocked()
	}
	e.wmu.Unlock()
	return nil
}

// WriteAlert appends a as one record: EventName nstrace.alert, the alert's
// severity, its JSON object (trigger included) as the body.
func (e *Exporter) WriteAlert(a *detect.Alert) error {
	e.wmu.Lock()
	e.seq++
	b, start := beginRecord(e.buf)
	b = a.AppendJSON(b)
	e.endRecord(b, start, kindAlert)
	e.flushLocked()
	e.wmu.Unlock()
	return nil
}

// Summary is the exit summary: what a run showed, filtered out and lost.
type Summary struct {
	Time     time.Time
	Events   uint64 // events passed to the sinks
	Filtered uint64 // events the filter left out
	Lost     uint64 // records the kernel dropped
	Alerts   uint64
}

// WriteSummary appends the exit summary as an nstrace.summary record.
func (e *Exporter) WriteSummary(s Summary) error {
	e.wmu.Lock()
	e.seq++
	b, start := beginRecord(e.buf)
	b = append(b, `{"time":"`...)
	b = encode.AppendTime(b, s.Time)
	b = append(b, `","event":"summary","events":`...)
	b = strconv.AppendUint(b, s.Events, 10)
	b = append(b, `,"filtered":`...)
	b = strconv.AppendUint(b, s.Filtered, 10)
	b = append(b, `,"lost":`...)
	b = strconv.AppendUint(b, s.Lost, 10)
	b = append(b, `,"alerts":`...)
	b = strconv.AppendUint(b, s.Alerts, 10)
	b = append(b, `,"export_dropped":`...)
	b = strconv.AppendUint(b, e.dropped.Load(), 10)
	b = append(b, `,"export_rejected":`...)
	b = strconv.AppendUint(b, e.rejected.Load(), 10)
	b = append(b, '}')
	e.endRecord(b, start, kindSummary)
	e.flushLocked()
	e.wmu.Unlock()
	return nil
}

// Flush writes what the writer buffers to the spool and wakes the sender.
func (e *Exporter) Flush() error {
	e.wmu.Lock()
	e.flushLocked()
	e.wmu.Unlock()
	return nil
}

// endRecord frames the record b holds from start. One too large to read
// back is dropped and counted (no event comes near the limit).
func (e *Exporter) endRecord(b []byte, start int, kind recordKind) {
	if len(b)-start-8 > maxRecordSize {
		e.buf = b[:start]
		e.seq--
		e.dropped.Add(1)
		e.logf("otlp: a %d-byte record is past the spool's %d-byte limit; counted as lost (cause export)", len(b)-start, maxRecordSize)
		return
	}
	e.buf = finishRecord(b, start, e.seq, time.Now().UnixNano(), kind)
	e.bufN++
}

func (e *Exporter) flushLocked() {
	if e.bufN == 0 {
		// Nothing new for the sender: waking it would only have it read
		// an empty spool, flush again and wake itself, round and round.
		return
	}
	// Dropping records to make room is itself recorded: a loss marker
	// (cause export) follows, so the backend sees the gap. The marker is
	// small, so this ends after a round or two.
	var written int64
	for e.bufN > 0 {
		n := e.bufN
		written += n
		dropped, err := e.sp.appendRecords(e.buf, n)
		if err != nil {
			dropped += uint64(n)
			if !e.wfail {
				e.wfail = true
				e.logf("otlp spool: %v; records that cannot be spooled are counted as lost (cause export)", err)
			}
		} else {
			e.spooled.Add(uint64(n))
		}
		e.buf, e.bufN = e.buf[:0], 0
		if dropped == 0 || err != nil {
			break
		}
		e.dropped.Add(dropped)
		e.seq++
		marker := event.Event{Time: time.Now(), Kind: event.Lost, Lost: dropped, Cause: LostExport}
		b, start := beginRecord(e.buf)
		b = marker.AppendJSON(b)
		e.buf = finishRecord(b, start, e.seq, time.Now().UnixNano(), kindEvent)
		e.bufN = 1
	}
	// Wake the sender when it has something new to do: records after
	// none (it waits for any), or a whole batch (lingering over a part
	// batch, or with requests out, it waits for one). A wake for less
	// would only have it look and wait again, on every spool write at
	// high rates.
	if p := e.sp.pending(); p <= written || p >= int64(e.opts.BatchSize) {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
}

// Stats returns the counters now.
func (e *Exporter) Stats() Stats {
	return Stats{
		Spooled: e.spooled.Load(), Sent: e.sent.Load(), Rejected: e.rejected.Load(), Dropped: e.dropped.Load(),
		Retries: e.retries.Load(), Queue: e.sp.pending() + e.inflight.Load(), SpoolBytes: e.sp.bytes(),
	}
}

// SessionID is the first part of every record id this exporter writes.
func (e *Exporter) SessionID() string { return e.session }

// Close writes out the buffer, keeps sending until everything is
// acknowledged or ctx ends, then stops. What is unacknowledged stays in
// the spool for the next start (ErrPending says how much).
func (e *Exporter) Close(ctx context.Context) error {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.Flush()
	close(e.drain)
	select {
	case <-e.done:
	case <-ctx.Done():
		e.abort()
		<-e.done
	}
	e.abort()
	err := e.cl.close()
	if cerr := e.sp.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close otlp exporter: %w", err)
	}
	if n := e.sp.pending() + e.inflight.Load(); n > 0 {
		return fmt.Errorf("%d %w", n, ErrPending)
	}
	return nil
}
