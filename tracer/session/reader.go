package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
)

// Reader reads the events of one or more session files in order, as one
// stream. Problems that end reading are returned as *Error; those that do
// not (a torn last record, a missing trailer) are kept as Warnings.
type Reader struct {
	paths []string // files still to open
	open  func(string) (io.ReadCloser, error)

	src     *source // the file being read
	hdr     *Header // the header of the session being read
	first   *Header
	ended   bool     // the current session's trailer was read
	prev    *trailer // the trailer of the previous session, if it had one
	counted trailer  // what the current session has held so far

	ev       event.Event
	alert    *Alert
	skipped  uint64            // records of unknown kinds
	unknown  map[string]uint64 // unknown kinds seen, by name (bounded)
	warnings []Warning
	dropped  int   // warnings beyond maxWarnings
	err      error // sticky
	watcher  sessionhook.LineWatcher
}

type source struct {
	name   string
	closer io.Closer
	unzip  func()
	lines  *lineReader
	zipped bool
}

// maxWarnings bounds what a hostile file can make the Reader remember.
const maxWarnings = 100

// Open reads the session files at paths ("-" is stdin) in the order given.
// It reads the first header before returning, so Header is set at once.
func Open(paths ...string) (*Reader, error) {
	if len(paths) == 0 {
		return nil, errors.New("no session file given")
	}
	r := &Reader{paths: paths, open: func(p string) (io.ReadCloser, error) { return openFile(p) }}
	if err := r.start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// NewReader reads a session from rd, calling it name in errors.
func NewReader(rd io.Reader, name string) (*Reader, error) {
	r := &Reader{paths: []string{name}, open: func(string) (io.ReadCloser, error) { return io.NopCloser(rd), nil }}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// start opens the first file and reads up to its header.
func (r *Reader) start() error {
	if err := r.openNext(); err != nil {
		return err
	}
	line, complete, err := r.src.lines.next()
	for err == nil && complete && len(bytes.TrimSpace(line)) == 0 {
		line, complete, err = r.src.lines.next()
	}
	if err != nil {
		return r.headerMissing(line, err)
	}
	if !complete {
		// A header that lost only its newline is whole; any other is torn.
		if _, perr := parseHeader(line); perr != nil {
			return r.headerMissing(line, nil)
		}
	}
	return r.record(line)
}

// Header is the header of the session being read.
func (r *Reader) Header() *Header { return r.hdr }

// First is the header of the first session read: when the recording started.
func (r *Reader) First() *Header { return r.first }

// Warnings lists what was wrong but did not stop reading, in order.
func (r *Reader) Warnings() []Warning {
	w := append([]Warning(nil), r.warnings...)
	if r.dropped > 0 {
		w = append(w, Warning{Msg: fmt.Sprintf("%d more warnings not shown", r.dropped)})
	}
	return w
}

// Buffered reports whether the next event can be read without waiting for
// input: when it cannot, a caller streaming from a pipe should flush.
func (r *Reader) Buffered() bool { return r.src != nil && r.src.lines.buffered() }

// Close closes the file being read.
func (r *Reader) Close() error {
	if r.src == nil {
		return nil
	}
	err := r.closeSource()
	if r.err == nil {
		r.err = errors.New("reader closed")
	}
	return err
}

// step reads one line of the current file. It reports whether r.ev now
// holds an event (kindEvent) or r.alert an alert (kindAlert).
func (r *Reader) step() (kind, error) {
	line, complete, err := r.src.lines.next()
	switch {
	case err == io.EOF:
		r.endOfFile(false)
		return kindNone, nil
	case err != nil:
		return kindNone, r.errorAt(err)
	case !complete:
		return r.lastLine(line)
	case len(bytes.TrimSpace(line)) == 0:
		return kindNone, nil
	}
	got, err := r.parse(line)
	if err == nil {
		return got, nil
	}
	return kindNone, r.badLine(err)
}

// lastLine handles a final line without a newline: a whole record that
// lost only its newline is kept; anything else is the torn write of a
// recorder that was killed.
func (r *Reader) lastLine(line []byte) (kind, error) {
	if got, err := r.parse(line); err == nil {
		r.endOfFile(false)
		return got, nil
	}
	r.warn(fmt.Sprintf("torn final record (%d bytes) ignored: the recording was cut short", len(line)))
	r.ended = true // the tear says it all; no second warning for the missing trailer
	r.endOfFile(true)
	return kindNone, nil
}

// badLine decides about a complete line that does not parse. Followed by a
// new session, it is the torn record of a recorder killed before someone
// appended to the file: a warning. Otherwise the file is damaged.
func (r *Reader) badLine(parseErr error) error {
	bad := r.pos()
	line, complete, err := r.src.lines.next()
	if err != nil || !complete || !bytes.HasPrefix(line, headerPrefix) {
		return &Error{Pos: bad, Err: parseErr}
	}
	r.warnAt(bad, "torn record ignored: the recorder was stopped mid-write before this file was appended to")
	r.ended = true
	if _, err = r.parse(line); err != nil {
		return r.errorAt(err)
	}
	return nil
}

// parse handles one record. It reports what it was: kindEvent and
// kindAlert are for the caller, the others are handled here.
func (r *Reader) parse(line []byte) (kind, error) {
	if !isObject(line) {
		return kindNone, errors.New("not a JSON object: not a session record")
	}
	k, name := recordKind(line)
	switch k {
	case kindHeader:
		return k, r.header(line)
	case kindTrailer:
		return k, r.trailer(line)
	case kindNone:
		return k, errors.New(`record without an "event" field`)
	}
	if r.ended {
		return kindNone, errors.New("record after the end of the session (its trailer)")
	}
	switch k {
	case kindUnknown:
		r.skip(name)
		return k, nil
	case kindSeal:
		return k, nil // verify checks seals; reading passes them over
	case kindAlert:
		a, err := parseAlert(line)
		if err != nil {
			return kindNone, err
		}
		r.alert = a
		r.counted.Alerts++
		return k, nil
	}
	if err := r.ev.UnmarshalJSON(line); err != nil {
		return kindNone, describeJSONError(err)
	}
	if r.ev.Kind == event.Lost {
		r.counted.Lost += r.ev.Lost
	} else {
		r.counted.Events++
	}
	return kindEvent, nil
}

// record handles the first line of a file, which must be a header.
func (r *Reader) record(line []byte) error {
	if k, _ := recordKind(line); !isObject(line) || k != kindHeader {
		return &Error{Pos: r.pos(), Err: errors.New("not an nstrace session: the first record is not a session header")}
	}
	if err := r.header(line); err != nil {
		return r.errorAt(err)
	}
	return nil
}

func (r *Reader) header(line []byte) error {
	h, err := parseHeader(line)
	if err != nil {
		return err
	}
	if r.hdr != nil && !r.ended {
		r.finishSession()
	}
	if r.hdr != nil && h.Session == r.hdr.Session && h.Part != r.hdr.Part+1 {
		r.warn(fmt.Sprintf("part %d of the recording follows part %d: files missing or out of order", h.Part, r.hdr.Part))
	}
	r.hdr, r.ended, r.counted = h, false, trailer{}
	if r.first == nil {
		r.first = h
	}
	return nil
}

func (r *Reader) trailer(line []byte) error {
	if r.ended {
		return errors.New("a second trailer for one session")
	}
	t, err := parseTrailer(line)
	if err != nil {
		return err
	}
	if t.Events != r.counted.Events || t.Lost != r.counted.Lost {
		r.warn(fmt.Sprintf("trailer counts %d events and %d lost, the session holds %d and %d: records are missing or were added",
			t.Events, t.Lost, r.counted.Events, r.counted.Lost))
	} else if t.Alerts != r.counted.Alerts {
		r.warn(fmt.Sprintf("trailer counts %d alerts, the session holds %d: records are missing or were added",
			t.Alerts, r.counted.Alerts))
	}
	r.ended, r.prev = true, t
	return nil
}

// finishSession notes a session that stopped without its trailer.
func (r *Reader) finishSession() {
	r.warn(fmt.Sprintf("session ends without a trailer after %d events: the recorder did not stop cleanly", r.counted.Events))
	r.ended = true
}

// endOfFile closes the current file; torn says a torn final record was
// already reported, which explains a cut compressed stream too.
func (r *Reader) endOfFile(torn bool) {
	if r.watcher != nil {
		r.watcher.EndFile(r.src.lines.cut)
	}
	switch {
	case torn || !r.src.lines.cut:
	case r.ended:
		// Every record arrived but the stream's own end (its checksum) did
		// not: the file was still cut, after the trailer.
		r.warn("compressed stream cut short after the trailer: the file's end is missing")
	default:
		r.warn("compressed stream cut short: the recording was interrupted")
		r.ended = true
	}
	if !r.ended {
		r.finishSession()
	}
	// Every line of the file has been read: closing a file only read
	// from loses nothing, so its error has nothing to report.
	_ = r.closeSource()
}

func (r *Reader) openNext() error {
	name := r.paths[0]
	r.paths = r.paths[1:]
	rc, err := r.open(name)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return err
		}
		return &Error{Pos: Position{File: name}, Err: err}
	}
	src := &source{name: name, closer: rc}
	if name == "-" {
		src.name = "stdin"
	}
	lines := newLineReader(rc)
	unzipped, unzip, err := decompress(lines.br)
	if err != nil {
		rc.Close()
		return &Error{Pos: Position{File: name}, Err: err}
	}
	src.unzip = unzip
	if unzipped != io.Reader(lines.br) {
		src.zipped = true
		lines = newLineReader(unzipped)
	}
	src.lines = lines
	if r.watcher != nil {
		w, zipped := r.watcher, src.zipped
		lines.watch = func(line []byte, complete bool) {
			w.Line(sessionhook.Position{File: src.name, Line: lines.line, Offset: lines.off, Compressed: zipped}, line, complete)
		}
	}
	r.src = src
	r.ended = true // until this file's header
	return nil
}

func (r *Reader) closeSource() error {
	src := r.src
	r.src = nil
	src.unzip()
	if src.closer != nil && src.closer != io.Closer(os.Stdin) {
		return src.closer.Close()
	}
	return nil
}

func (r *Reader) headerMissing(line []byte, err error) error {
	pos := r.pos()
	switch {
	case err == io.EOF && r.src.lines.cut:
		pos.Line, pos.Offset = 1, 0
		err = errors.New("truncated: the compressed stream ends before the session header")
	case err == io.EOF:
		pos.Line, pos.Offset = 1, 0
		err = errors.New("empty: not an nstrace session")
	case err != nil:
		return r.errorAt(err)
	case !bytes.HasPrefix(bytes.TrimSpace(line), headerPrefix):
		err = errors.New("not an nstrace session: no session header")
	default:
		err = fmt.Errorf("truncated session header (%d bytes, no end of line)", len(line))
	}
	return &Error{Pos: pos, Err: err}
}

func (r *Reader) pos() Position {
	l := r.src.lines
	return Position{File: r.src.name, Line: l.line, Offset: l.off, Compressed: r.src.zipped}
}

func (r *Reader) errorAt(err error) error {
	if errors.Is(err, errTooLong) {
		return &Error{Pos: r.pos(), Err: errors.New("record " + err.Error())}
	}
	return &Error{Pos: r.pos(), Err: err}
}

func (r *Reader) warn(msg string) { r.warnAt(r.pos(), msg) }

func (r *Reader) warnAt(pos Position, msg string) {
	if len(r.warnings) >= maxWarnings {
		r.dropped++
		return
	}
	r.warnings = append(r.warnings, Warning{Pos: pos, Msg: msg})
}
