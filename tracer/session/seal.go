package session

import (
	"errors"
	"io"
	"os"

	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
)

// The sealing hooks are tracer/internal/seal's, through sessionhook: no
// public API.
func init() {
	sessionhook.SetSealer = func(o any, s sessionhook.Sealer) { o.(*Options).sealer = s }
	sessionhook.OpenWatched = func(w sessionhook.LineWatcher, paths ...string) (any, error) {
		r, err := openWatched(w, paths...)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	sessionhook.ScanLines = scanLines
	sessionhook.ParseHeader = func(line []byte) (string, int, error) {
		h, err := parseHeader(line)
		if err != nil {
			return "", 0, err
		}
		return h.Session, h.Part, nil
	}
	sessionhook.ParseTrailer = func(line []byte) (string, error) {
		t, err := parseTrailer(line)
		if err != nil {
			return "", err
		}
		return t.Next, nil
	}
}

// sealRecord counts the record appended to w.buf at start, and seals
// when a seal is due.
func (w *Writer) sealRecord(start int) {
	if w.opts.sealer.Count(w.buf[start:]) {
		w.appendSeal()
	}
}

// hashBuffered hands the sealer the buffered records it has not hashed.
func (w *Writer) hashBuffered() {
	if w.opts.sealer != nil && w.hashed < len(w.buf) {
		w.opts.sealer.Hash(w.buf[w.hashed:])
	}
	w.hashed = len(w.buf)
}

// appendSeal appends a seal covering every line so far.
func (w *Writer) appendSeal() {
	w.hashBuffered()
	w.buf = w.opts.sealer.AppendSeal(w.buf, nil)
	w.hashed = len(w.buf) // a seal covers the lines before it, not itself
}

// sealHeader hands a part's header to the sealer. The first part's goes at
// once; a later part's waits until the part before it is sealed to its
// end, for rotation writes the new header before the old trailer.
func (w *Writer) sealHeader(line []byte) {
	if w.cur == nil {
		w.opts.sealer.Add(line)
		return
	}
	w.nextHeader = line
}

// sealEnd appends the final seal of a part, which covers its trailer t, and
// then hands the next part's header to the sealer.
func (w *Writer) sealEnd(b, t []byte) []byte {
	b = w.opts.sealer.AppendSeal(b, t)
	if w.nextHeader != nil {
		w.opts.sealer.Add(w.nextHeader)
		w.nextHeader = nil
	}
	return b
}

// openWatched is Open with w shown every line read, from the first
// header on, and the end of every file.
func openWatched(w sessionhook.LineWatcher, paths ...string) (*Reader, error) {
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

// scanLines reads the session file at path ("-": stdin), decompressed,
// and calls fn with every line, its newline removed, and where it starts:
// what verify needs to check seals without decoding records. complete is
// false for a last line without a newline. cut reports a compressed stream
// that ends before its end marker. An error from fn stops the scan and is
// returned.
func scanLines(path string, fn func(pos sessionhook.Position, line []byte, complete bool) error) (cut bool, err error) {
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
		if err := fn(sessionhook.Position(pos), line, complete); err != nil {
			return lines.cut, err
		}
		if !complete {
			return lines.cut, nil
		}
	}
}
