package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/reserve"
	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
)

// Options configure a Writer.
type Options struct {
	// Header is written at the top of every file. The Writer fills in
	// Format, Time, Started (unless set), Session and Part.
	Header Header

	Force bool // overwrite an existing file (never through a symlink)
	// Append adds a new session to the end of an existing file; to a
	// compressed one as a new gzip member or zstd frame.
	Append bool

	// RotateSize starts a new file once the current one reaches this many
	// bytes (compressed bytes for a compressed file). Files are named by
	// numbering the path: a.jsonl → a.000001.jsonl, a.000002.jsonl, ...
	// Numbering goes on after the highest part already there, so a
	// restarted recorder adds to the series instead of failing.
	RotateSize int64
	// RotateKeep, with RotateSize, deletes the oldest parts of the series
	// (those of earlier runs included) so that at most this many remain.
	// 0 keeps them all.
	RotateKeep int

	// Inventory, when set, is asked for the namespace inventory as each
	// file starts, so that every part of a rotated recording replays alone
	// with the names known when it began. Header.Inventory is used when it
	// is nil or fails.
	Inventory func() (json.RawMessage, error)
	// Warn hears what goes wrong without stopping the recording, such as a
	// part name skipped because something is in the way. Nil: not told.
	Warn func(msg string)

	Now func() time.Time // the clock; nil means time.Now

	// sealer, when set, seals what is written (see sessionhook.Sealer).
	// Nil: unsealed.
	sealer sessionhook.Sealer
}

// Writer records events to a session file, or to a series of them when
// rotating. It is not safe for concurrent use.
type Writer struct {
	opts   Options
	path   string // as given; rotated files are named after it
	comp   compression
	header Header

	cur       *part
	buf       []byte // records not yet written
	bufEvents uint64 // events in buf, loss markers not counted
	zipEvents uint64 // events handed to the compressor since it last flushed
	nums      event.Numbers
	files     []string // made by this Writer and not pruned, oldest first
	series    []string // every part of a rotated series not pruned: earlier runs' too
	err       error    // sticky: the first write error
	torn      bool     // a write failed: the file may end mid-record, no trailer
	closed    bool

	unwritten  atomic.Uint64 // events that did not reach the file; read by metrics
	skipped    int           // part names passed over
	nextHeader []byte        // a new part's header not yet handed to the Sealer
	hashed     int           // w.buf[:hashed] was handed to the Sealer (or is a seal)
}

// part is one file of the recording (or the stream).
type part struct {
	num    int               // the file's number in a rotated series
	seq    int               // its part number in this recording's headers
	file   *os.File          // nil for a stream
	count  countWriter       // bytes that reached the file
	zip    compressor        // nil when not compressing
	out    io.Writer         // &count or zip
	ahead  *reserve.Reserver // allocates the file's blocks before each write
	events uint64            // in this part, loss markers not counted
	lost   uint64
	alerts uint64
}

// bufferSize is how much the Writer gathers before one write(2): a couple
// of hundred records under churn. The kernel's cost of a write to a file
// falls per byte with larger writes, and the buffer still fits the cache
// its records were encoded in and hashed from. Records are never split
// across writes, so a kill leaves whole records behind.
const bufferSize = 256 << 10

// Create starts a session file at path and writes its header.
func Create(path string, opts Options) (*Writer, error) {
	if opts.Append && opts.RotateSize > 0 {
		return nil, errors.New("appending and rotating do not mix: rotated files are always new")
	}
	w := newWriter(path, opts)
	w.comp = compressionOf(path)
	var p *part
	var err error
	if opts.RotateSize > 0 {
		p, err = w.startSeries()
	} else {
		p, err = w.createPart(path, 1, 1)
	}
	if err != nil {
		return nil, err
	}
	w.cur = p
	return w, nil
}

// NewWriter writes one uncompressed session to out, e.g. standard output.
// Close writes the trailer but leaves out open.
func NewWriter(out io.Writer, opts Options) (*Writer, error) {
	if opts.RotateSize > 0 || opts.Append || opts.Force {
		return nil, errors.New("a stream cannot rotate, append or be overwritten")
	}
	w := newWriter("", opts)
	p := &part{num: 1, seq: 1, count: countWriter{w: out}, ahead: reserve.New(out)}
	p.out = &p.count
	if err := w.startPart(p, false); err != nil {
		return nil, err
	}
	w.cur = p
	return w, nil
}

func newWriter(path string, opts Options) *Writer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := opts.Header
	h.Format = FormatVersion
	h.Session = newSessionID()
	if h.Started.IsZero() {
		h.Started = opts.Now()
	}
	return &Writer{opts: opts, path: path, header: h, buf: make([]byte, 0, bufferSize+16<<10)}
}

// Name is the file being written ("" for a stream).
func (w *Writer) Name() string {
	if w.cur == nil || w.cur.file == nil {
		return ""
	}
	return w.cur.file.Name()
}

// Files lists the files this Writer made that still exist, oldest first.
func (w *Writer) Files() []string { return append([]string(nil), w.files...) }

// Skipped counts the part names rotation passed over because something
// (a symbolic link, another file) was in the way.
func (w *Writer) Skipped() int { return w.skipped }

// WriteEvent appends ev (an event or a loss marker) in the JSON form of
// event.AppendJSON. It allocates nothing.
func (w *Writer) WriteEvent(ev *event.Event) error {
	if w.err != nil || w.closed {
		if w.err != nil && ev.Kind != event.Lost {
			w.unwritten.Add(1) // recording stopped at the error
		}
		return w.stopped()
	}
	start := len(w.buf)
	w.buf = ev.AppendJSONWith(w.buf, &w.nums)
	w.buf = append(w.buf, '\n')
	if w.opts.sealer != nil {
		w.sealRecord(start)
	}
	if ev.Kind == event.Lost {
		w.cur.lost += ev.Lost
	} else {
		w.cur.events++
		w.bufEvents++
	}
	return w.written()
}

// WriteAlert appends an alert record. Written right after the event that
// raised it, it follows that event in the file.
func (w *Writer) WriteAlert(a AlertEncoder) error {
	if w.err != nil || w.closed {
		return w.stopped()
	}
	start := len(w.buf)
	w.buf = a.AppendJSON(w.buf)
	w.buf = append(w.buf, '\n')
	if w.opts.sealer != nil {
		w.sealRecord(start)
	}
	w.cur.alerts++
	return w.written()
}

func (w *Writer) stopped() error {
	if w.err != nil {
		return w.err
	}
	return errors.New("session writer closed")
}

// written writes the buffer once it is full and rotates when due.
func (w *Writer) written() error {
	if len(w.buf) >= bufferSize {
		if err := w.writeBuffer(); err != nil {
			return err
		}
	}
	if w.opts.RotateSize > 0 && w.size() >= w.opts.RotateSize {
		return w.rotate()
	}
	return nil
}

// size is the current file's length, counting what is still buffered when
// that is known (uncompressed).
func (w *Writer) size() int64 {
	if w.cur.zip != nil {
		return w.cur.count.n
	}
	return w.cur.count.n + int64(len(w.buf))
}

func (w *Writer) writeBuffer() error {
	if len(w.buf) == 0 || w.err != nil {
		return w.err
	}
	w.hashBuffered()
	w.cur.ahead.Before(len(w.buf))
	n, err := w.cur.out.Write(w.buf)
	if err != nil {
		w.fail(err, n)
		return w.err
	}
	w.zipEvents += w.bufEvents
	w.buf, w.bufEvents, w.hashed = w.buf[:0], 0, 0
	return nil
}

// Flush hands buffered records to the kernel (through the compressor), so
// that they survive the recorder being killed. Call it when events pause.
func (w *Writer) Flush() error {
	if w.err != nil || w.closed {
		return w.err
	}
	if w.opts.sealer != nil && w.opts.sealer.Idle() {
		w.appendSeal()
	}
	if err := w.writeBuffer(); err != nil {
		return err
	}
	if w.cur.zip != nil {
		if err := w.cur.zip.Flush(); err != nil {
			w.fail(err, 0)
			return w.err
		}
		w.zipEvents = 0
	}
	return nil
}

// Close writes the trailer, flushes and, for a file, syncs it to disk and
// closes it. Closing twice is harmless.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	_ = w.writeBuffer() // a failure is kept in w.err, which Close returns
	if err := w.endPart(w.cur, ""); err != nil && w.err == nil {
		w.err = err
		if w.cur.zip != nil {
			w.unwritten.Add(w.zipEvents) // the compressor's last block did not reach the file
		}
	}
	return w.err
}

func (w *Writer) wrap(err error) error {
	if err == nil {
		return nil
	}
	if name := w.Name(); name != "" {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // it names the file again
		}
		return fmt.Errorf("write session %s: %w", name, err)
	}
	return fmt.Errorf("write session: %w", err)
}

// createPart creates the file name as part num (seq in the headers) and
// writes its header.
func (w *Writer) createPart(name string, num, seq int) (*part, error) {
	var torn bool
	if w.opts.Append {
		var err error
		if torn, err = appendable(name, w.comp); err != nil {
			return nil, err
		}
	}
	f, err := createFile(name, w.opts.Force, w.opts.Append)
	if err != nil {
		return nil, err
	}
	p := &part{num: num, seq: seq, file: f, count: countWriter{w: f}, ahead: reserve.New(nil)}
	p.out = &p.count
	if w.comp == plain {
		p.ahead = reserve.New(f)
	} else {
		if p.zip, err = newCompressor(w.comp, &p.count); err != nil {
			f.Close()
			return nil, err
		}
		p.out = p.zip
	}
	if err := w.startPart(p, torn); err != nil {
		f.Close()
		if !w.opts.Append {
			os.Remove(name) // a file without a header is no session
		}
		return nil, err
	}
	w.files = append(w.files, name)
	w.series = append(w.series, name)
	return p, nil
}

// startPart writes p's header, at once and unbuffered: a file that exists
// has one. After a torn line (a killed recorder's, when appending) it first
// ends that line, so that the new session starts on a line of its own.
func (w *Writer) startPart(p *part, torn bool) error {
	if w.opts.Inventory != nil {
		inv, err := w.opts.Inventory()
		switch {
		case err != nil:
			w.warn(fmt.Sprintf("part %d carries the previous inventory: %v", p.seq, err))
		default:
			w.header.Inventory = inv
		}
	}
	h := w.header
	h.Time = w.opts.Now()
	h.Part = p.seq
	var b []byte
	if torn {
		b = append(b, '\n')
	}
	b, err := appendHeader(b, &h)
	if err != nil {
		return err
	}
	if w.opts.sealer != nil {
		line := b
		if torn {
			line = b[1:] // the end of another session's torn line
		}
		w.sealHeader(line)
	}
	if _, err := p.out.Write(b); err != nil {
		return fmt.Errorf("write session header: %w", err)
	}
	if p.zip != nil {
		return p.zip.Flush()
	}
	return nil
}

// endPart writes p's trailer, then flushes, syncs and closes p's file.
func (w *Writer) endPart(p *part, next string) error {
	var errs []error
	if !w.torn {
		t := appendTrailer(nil, &trailer{Time: w.opts.Now(), Events: p.events, Lost: p.lost, Alerts: p.alerts, Next: next})
		if w.opts.sealer != nil {
			t = append(w.sealEnd(nil, t), t...)
		}
		_, err := p.out.Write(t)
		errs = append(errs, err)
	}
	if p.zip != nil {
		errs = append(errs, p.zip.Close())
	}
	if p.file == nil {
		return w.wrap(errors.Join(errs...))
	}
	errs = append(errs, p.file.Sync(), p.file.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close session %s: %w", p.file.Name(), err)
	}
	return nil
}

func (w *Writer) warn(msg string) {
	if w.opts.Warn != nil {
		w.opts.Warn(msg)
	}
}

// countWriter counts the bytes that reach the file.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
