// Package sessionhook is how tracer/internal/seal seals what tracer/session
// writes and checks what it reads, without session offering that to other
// programs: sealing is nstrace's own, and its means are no public API.
//
// Session fills in the functions below in its init, so they are set in
// any program that imports session; seal imports it, and wraps the two
// that speak session's types (see seal.Sealed and Verifier.Open). This
// package cannot name those types, for session imports it.
package sessionhook

// Sealer authenticates a recording as the Writer writes it
// (tracer/internal/seal implements it). The Writer hands it every line in
// the order a reader meets them, and writes the seal records it makes where
// it asks for them. Seal lines are not handed back: a seal covers the lines
// before it.
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

// Position is where a line starts. It has session.Position's fields, so
// each converts to the other.
type Position struct {
	File       string // as given to Open; "-" for stdin
	Line       int    // from 1; 0 when not about one line
	Offset     int64  // byte offset of the line's start
	Compressed bool   // Offset counts decompressed bytes
}

// LineWatcher sees the lines of a recording as a Reader reads them, seals,
// headers and trailers included, each with where it starts: what checks
// seals while replaying (tracer/internal/seal's Verifier is one).
type LineWatcher interface {
	Line(pos Position, line []byte, complete bool) // complete: the line had its newline
	EndFile(cut bool)                              // cut: a compressed stream ended short
}

// Set by tracer/session's init.
var (
	// SetSealer makes the Writer that opts, a *session.Options,
	// configures seal what it writes with s.
	SetSealer func(opts any, s Sealer)

	// OpenWatched is session.Open with w shown every line read, from the
	// first header on, and the end of every file. The reader it returns
	// is a *session.Reader.
	OpenWatched func(w LineWatcher, paths ...string) (any, error)

	// ScanLines reads the session file at path ("-": stdin), decompressed,
	// and calls fn with every line, its newline removed, and where it
	// starts: what verify needs to check seals without decoding records.
	// complete is false for a last line without a newline. cut reports a
	// compressed stream that ends before its end marker. An error from fn
	// stops the scan and is returned; a line the file cannot give is a
	// *session.Error.
	ScanLines func(path string, fn func(pos Position, line []byte, complete bool) error) (cut bool, err error)

	// ParseHeader decodes a session header line into the recording's
	// session id and the file's part number.
	ParseHeader func(line []byte) (session string, part int, err error)

	// ParseTrailer decodes a trailer line ({"event":"end",...}) into the
	// file that continues the recording after a rotation ("" for none).
	ParseTrailer func(line []byte) (next string, err error)
)
