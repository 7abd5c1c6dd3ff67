package session

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits on one line, so that no file can make the reader hold more. An
// event takes well under a kilobyte; a header carries the inventory.
const (
	maxRecord = 1 << 20  // any line but a header
	maxHeader = 16 << 20 // a session header: tens of thousands of namespaces
)

var headerPrefix = []byte(`{"event":"session"`)

// errTooLong: a line went past its limit.
var errTooLong = errors.New("line too long")

// lineReader reads lines and knows where each started.
type lineReader struct {
	br   *bufio.Reader
	buf  []byte // a line longer than br's buffer is gathered here
	line int    // number of the line last returned, from 1
	off  int64  // where it started
	pos  int64  // where the next one starts
	// cut is set when a compressed stream ended before its end marker.
	cut bool
	// watch, when set, sees every line next returns (see sessionhook.LineWatcher).
	watch func(line []byte, complete bool)
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its newline, and whether it had one
// (only the last line of a stream can lack it). At the end it returns io.EOF.
// The line is valid until the next call.
func (l *lineReader) next() (line []byte, complete bool, err error) {
	line, complete, err = l.read()
	if l.watch != nil && err == nil {
		l.watch(line, complete)
	}
	return line, complete, err
}

func (l *lineReader) read() (line []byte, complete bool, err error) {
	l.off = l.pos
	l.buf = l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		l.pos += int64(len(chunk))
		if err == nil && len(l.buf) == 0 {
			l.line++
			return chunk[:len(chunk)-1], true, nil
		}
		l.buf = append(l.buf, chunk...)
		if len(l.buf) > lineLimit(l.buf) {
			l.line++
			return nil, false, fmt.Errorf("%w: over %s without a newline", errTooLong, sizeString(lineLimit(l.buf)))
		}
		switch {
		case err == nil:
			l.line++
			return l.buf[:len(l.buf)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			l.cut = err != io.EOF
			if len(l.buf) == 0 {
				return nil, false, io.EOF
			}
			l.line++
			return l.buf, false, nil
		default:
			l.line++
			return nil, false, err
		}
	}
}

// buffered reports whether the next line can be read without waiting.
func (l *lineReader) buffered() bool { return l.br.Buffered() > 0 }

func lineLimit(start []byte) int {
	if bytes.HasPrefix(start, headerPrefix) {
		return maxHeader
	}
	return maxRecord
}

func sizeString(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
