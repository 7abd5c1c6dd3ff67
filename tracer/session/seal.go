package session

import (
	"errors"
	"io"
	"os"
)

// Sealer authenticates a recording as the Writer writes it (tracer/internal/seal
// implements it). The Writer hands it every line in the order a reader
// meets them, and writes the seal records it makes where it asks for them.
// Seal lines are not handed back: a seal covers the lines before it.
type Sealer interface {
	// Add takes one line as written, newline included, and reports
	// whether a seal is due now.
	Add(line []byte) bool
	// Count takes a record line as Add does, but its bytes come later,
	// through Hash: the Writer hands over its buffered records in one
	// call, before it writes them and before a seal.
	Count(line []byte) bool
	// Hash takes the bytes of the lines given to Count, in order.
	Hash(b []byte)
	// Idle reports, when the Writer flushes, whether a seal is due for
	// the time that has passed (an epoch), lines or none.
	Idle() bool
	// AppendSeal appends a seal record covering every line added since
	// the last seal. With end set (a part's trailer), end is covered too:
	// it is the line that follows the seal.
	AppendSeal(b, end []byte) []byte
}

// sealRecord counts the record appended to w.buf at start, and seals
// when a seal is due.
func (w *Writer) sealRecord(start int) {
	if w.opts.Sealer.Count(w.buf[start:]) {
		w.appendSeal()
	}
}

// hashBuffered hands the sealer the buffered records it has not hashed.
func (w *Writer) hashBuffered() {
	if w.opts.Sealer != nil && w.hashed < len(w.buf) {
		w.opts.Sealer.Hash(w.buf[w.hashed:])
	}
	w.hashed = len(w.buf)
}

// appendSeal appends a seal covering every line so far.
func (w *Writer) appendSeal() {
	w.hashBuffered()
	w.buf = w.opts.Sealer.AppendSeal(w.buf, nil)
	w.hashed = len(w.buf) // a seal covers the lines before it, not itself
}

// sealHeader hands a part's header to the sealer. The first part's goes at
// once; a later part's waits until the part before it is sealed to its
// end, for rotation writes the new header before the old trailer.
func (w *Writer) sealHeader(line []byte) {
	if w.cur == nil {
		w.opts.Sealer.Add(line)
		return
	}
	w.nextHeader = line
}

// sealEnd appends the final seal of a part, which covers its trailer t, and
// then hands the next part's header to the sealer.
func (w *Writer) sealEnd(b, t []byte) []byte {
	b = w.opts.Sealer.AppendSeal(b, t)
	if w.nextHeader != nil {
		w.opts.Sealer.Add(w.nextHeader)
		w.nextHeader = nil
	}
	return b
}

// LineWatcher sees the lines of a recording as a Reader reads them, seals,
// headers and trailers included, each with where it starts: what checks
// seals while replaying (tracer/internal/seal's Verifier is one).
type LineWatcher interface {
	Line(pos Position, line []byte, complete bool) // complete: the line had its newline
	EndFile(cut bool)                              // cut: a compressed stream ended short
}

// OpenWatched is Open with w shown every line read, from the first
// header on, and the end of every file.
func OpenWatched(w LineWatcher, paths ...string) (*Reader, error) {
	if len(paths) == 0 {
		return nil, errors.New("no session file given")
	}
	r := &Reader{paths: paths, open: func(p string) (io.ReadCloser, error) { return openFile(p) }, watcher: w}
	if err := r.start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// sealEvent is the "event" of a seal record.
const sealEvent = "seal"

// ScanLines reads the session file at path ("-": stdin), decompressed,
// and calls fn with every line, its newline removed, and where it starts:
// what verify needs to check seals without decoding records. complete is
// false for a last line without a newline. cut reports a compressed stream
// that ends before its end marker. An error from fn stops the scan and is
// returned.
func ScanLines(path string, fn func(pos Position, line []byte, complete bool) error) (cut bool, err error) {
	f, err := openFile(path)
	if err != nil {
		return false, err
	}
	if f != os.Stdin {
		defer f.Close()
	}
	name := path
	if path == "-" {
		name = "stdin"
	}
	lines := newLineReader(f)
	unzipped, unzip, err := decompress(lines.br)
	if err != nil {
		return false, &Error{Pos: Position{File: name}, Err: err}
	}
	defer unzip()
	zipped := unzipped != io.Reader(lines.br)
	if zipped {
		lines = newLineReader(unzipped)
	}
	for {
		line, complete, err := lines.next()
		pos := Position{File: name, Line: lines.line, Offset: lines.off, Compressed: zipped}
		switch {
		case err == io.EOF:
			return lines.cut, nil
		case errors.Is(err, errTooLong):
			return lines.cut, &Error{Pos: pos, Err: errors.New("record " + err.Error())}
		case err != nil:
			return lines.cut, &Error{Pos: pos, Err: err}
		}
		if err := fn(pos, line, complete); err != nil {
			return lines.cut, err
		}
		if !complete {
			return lines.cut, nil
		}
	}
}

// ParseHeaderLine decodes a session header line.
func ParseHeaderLine(line []byte) (*Header, error) { return parseHeader(line) }

// ParseTrailerLine decodes a trailer line ({"event":"end",...}).
func ParseTrailerLine(line []byte) (*Trailer, error) { return parseTrailer(line) }
