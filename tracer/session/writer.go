package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// Options configure a Writer.
type Options struct {
	// Header is written at the top of every file. The Writer fills in
	// Format, Time, Started (unless set), Session and Part.
	Header Header

	Force  bool // overwrite an existing file (never through a symlink)
	Append bool // add a new session to the end of an existing file (uncompressed only)

	// RotateSize starts a new file once the current one reaches this many
	// bytes (compressed bytes for a compressed file). Files are named by
	// numbering the path: a.jsonl → a.000001.jsonl, a.000002.jsonl, ...
	RotateSize int64
	// RotateKeep, with RotateSize, deletes the oldest files this Writer made
	// so that at most this many remain. 0 keeps them all.
	RotateKeep int

	Now func() time.Time // the clock; nil means time.Now
}

// Writer records events to a session file, or to a series of them when
// rotating. It is not safe for concurrent use.
type Writer struct {
	opts   Options
	path   string // as given; rotated files are named after it
	comp   compression
	header Header

	cur    *part
	buf    []byte // records not yet written
	nums   event.Numbers
	files  []string // made by this Writer and not pruned, oldest first
	err    error    // sticky: the first write error
	closed bool
}

// part is one file of the recording (or the stream).
type part struct {
	num    int
	file   *os.File    // nil for a stream
	count  countWriter // bytes that reached the file
	zip    compressor  // nil when not compressing
	out    io.Writer   // &count or zip
	events uint64      // in this part, loss markers not counted
	lost   uint64
}

// bufferSize is how much the Writer gathers before one write(2). Records are
// never split across writes, so a kill leaves whole records behind.
const bufferSize = 64 << 10

// Create starts a session file at path and writes its header.
func Create(path string, opts Options) (*Writer, error) {
	comp := compressionOf(path)
	if opts.Append && comp != plain {
		return nil, fmt.Errorf("%s: appending works on uncompressed files only", path)
	}
	if opts.Append && opts.RotateSize > 0 {
		return nil, errors.New("appending and rotating do not mix: rotated files are always new")
	}
	w := newWriter(path, opts)
	w.comp = comp
	p, err := w.createPart(1)
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
	p := &part{num: 1, count: countWriter{w: out}}
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
	return &Writer{opts: opts, path: path, header: h, buf: make([]byte, 0, bufferSize+4096)}
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

// SetInventory replaces the inventory written in the headers of the files
// that rotation starts from now on.
func (w *Writer) SetInventory(inv json.RawMessage) { w.header.Inventory = inv }

// WriteEvent appends ev (an event or a loss marker) in the JSON form of
// event.AppendJSON. It allocates nothing.
func (w *Writer) WriteEvent(ev *event.Event) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("session writer closed")
	}
	w.buf = ev.AppendJSONWith(w.buf, &w.nums)
	w.buf = append(w.buf, '\n')
	if ev.Kind == event.Lost {
		w.cur.lost += ev.Lost
	} else {
		w.cur.events++
	}
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
	_, err := w.cur.out.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = w.wrap(err)
	}
	return w.err
}

// Flush hands buffered records to the kernel (through the compressor), so
// that they survive the recorder being killed. Call it when events pause.
func (w *Writer) Flush() error {
	if w.err != nil || w.closed {
		return w.err
	}
	if err := w.writeBuffer(); err != nil {
		return err
	}
	if w.cur.zip != nil {
		if err := w.cur.zip.Flush(); err != nil {
			w.err = w.wrap(err)
		}
	}
	return w.err
}

// Close writes the trailer, flushes and, for a file, syncs it to disk and
// closes it. Closing twice is harmless.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	w.writeBuffer()
	if err := w.endPart(w.cur, ""); err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

func (w *Writer) wrap(err error) error {
	if err == nil {
		return nil
	}
	if name := w.Name(); name != "" {
		return fmt.Errorf("write session %s: %w", name, err)
	}
	return fmt.Errorf("write session: %w", err)
}

// createPart creates file number num: the path itself, or its numbered
// name when rotating, and writes the header.
func (w *Writer) createPart(num int) (*part, error) {
	name := w.path
	if w.opts.RotateSize > 0 {
		name = PartName(w.path, num)
	}
	var torn bool
	if w.opts.Append {
		ok, err := endsWithNewline(name)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("append to %s: %w", name, err)
		}
		torn = err == nil && !ok
	}
	f, err := createFile(name, w.opts.Force, w.opts.Append)
	if err != nil {
		return nil, err
	}
	p := &part{num: num, file: f, count: countWriter{w: f}}
	p.out = &p.count
	if w.comp != plain {
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
	return p, nil
}

// startPart writes p's header, at once and unbuffered: a file that exists
// has one. After a torn line (a killed recorder's, when appending) it first
// ends that line, so that the new session starts on a line of its own.
func (w *Writer) startPart(p *part, torn bool) error {
	h := w.header
	h.Time = w.opts.Now()
	h.Part = p.num
	var b []byte
	if torn {
		b = append(b, '\n')
	}
	b, err := appendHeader(b, &h)
	if err != nil {
		return err
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
	if w.err == nil {
		t := appendTrailer(nil, &Trailer{Time: w.opts.Now(), Events: p.events, Lost: p.lost, Next: next})
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

// rotate starts the next file, then closes the current one with a trailer
// naming it, and deletes files beyond RotateKeep.
func (w *Writer) rotate() error {
	if err := w.writeBuffer(); err != nil {
		return err
	}
	next, err := w.createPart(w.cur.num + 1)
	if err != nil {
		return fmt.Errorf("rotate: %w", err) // the current file stays usable
	}
	old := w.cur
	w.cur = next
	if err := w.endPart(old, filepath.Base(next.file.Name())); err != nil {
		w.err = err
		return err
	}
	w.prune()
	return nil
}

// prune deletes the oldest files this Writer made beyond RotateKeep. A file
// that cannot be deleted is left and forgotten: recording matters more.
func (w *Writer) prune() {
	if w.opts.RotateKeep <= 0 {
		return
	}
	for len(w.files) > w.opts.RotateKeep {
		os.Remove(w.files[0])
		w.files = w.files[1:]
	}
}

// PartName is the name of the n-th file of a rotated recording at path: the
// number goes before the extension (and before .gz or .zst), zero-padded so
// that names sort in order: trace.jsonl.zst → trace.000002.jsonl.zst.
func PartName(path string, n int) string {
	dir, base := filepath.Split(path)
	var zext string
	if compressionOf(base) != plain {
		zext = filepath.Ext(base)
		base = base[:len(base)-len(zext)]
	}
	ext := filepath.Ext(base)
	stem := base[:len(base)-len(ext)]
	if stem == "" {
		stem, ext = base, ""
	}
	return fmt.Sprintf("%s%s.%06d%s%s", dir, stem, n, ext, zext)
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
