package session

import (
	"strconv"

	"github.com/nstrace/nstrace/tracer/internal/render"
)

// Position is where in a session file something was found.
type Position struct {
	File       string // as given to Open; "-" for stdin
	Line       int    // from 1; 0 when not about one line
	Offset     int64  // byte offset of the line's start
	Compressed bool   // Offset counts decompressed bytes
}

func (p Position) String() string {
	b := render.AppendSanitized(nil, p.File)
	if p.Line == 0 {
		return string(b)
	}
	b = append(b, ": line "...)
	b = strconv.AppendInt(b, int64(p.Line), 10)
	b = append(b, " (byte "...)
	b = strconv.AppendInt(b, p.Offset, 10)
	if p.Compressed {
		b = append(b, " decompressed"...)
	}
	return string(append(b, ')'))
}

// Error is a file the Reader cannot go on with: what went wrong, and where.
type Error struct {
	Pos Position
	Err error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Warning is something a reader should know that does not stop it, such as
// the torn last record of a recorder that was killed.
type Warning struct {
	Pos Position
	Msg string
}

func (w Warning) String() string { return w.Pos.String() + ": " + w.Msg }
