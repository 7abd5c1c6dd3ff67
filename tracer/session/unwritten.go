package session

import "bytes"

// Unwritten counts the events that did not reach the file: those a failed
// write (a full disk) left behind, and every one after it, for the Writer
// stops at its first error. For a compressed file it counts everything
// since the compressor last flushed, of which a reader may still recover
// some. It is safe to call from any goroutine.
func (w *Writer) Unwritten() uint64 { return w.unwritten.Load() }

// fail makes err sticky and counts the events it leaves unwritten: in a
// plain file, those from the line the write stopped in (a torn line is
// no record); in a compressed one, all since the compressor last flushed.
func (w *Writer) fail(err error, n int) {
	w.err, w.torn = w.wrap(err), true
	if w.cur.zip != nil {
		w.unwritten.Add(w.zipEvents + w.bufEvents)
	} else {
		w.unwritten.Add(eventLines(w.buf[bytes.LastIndexByte(w.buf[:n], '\n')+1:]))
	}
	w.zipEvents, w.bufEvents, w.buf, w.hashed = 0, 0, w.buf[:0], 0
}

// eventLines counts the events among whole lines, loss markers and alerts
// not counted.
func eventLines(b []byte) uint64 {
	var n uint64
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if k, _ := recordKind(line); k == kindEvent && !bytes.Contains(line, []byte(`"event":"lost"`)) {
			n++
		}
	}
	return n
}
