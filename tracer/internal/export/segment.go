package export

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
)

// scanSegment reads a segment's header and records, truncating the file
// after the last whole record.
func scanSegment(name string, num uint64) (*segment, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open spool segment: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, len(segMagic)+2+255)
	n, _ := f.ReadAt(hdr, 0)
	if n < len(segMagic)+2 || string(hdr[:len(segMagic)]) != segMagic || hdr[len(segMagic)] != segVersion ||
		n < len(segMagic)+2+int(hdr[len(segMagic)+1]) {
		return nil, fmt.Errorf("%s: %w", name, ErrSpoolCorrupt)
	}
	idLen := int(hdr[len(segMagic)+1])
	seg := &segment{num: num, session: string(hdr[len(segMagic)+2 : len(segMagic)+2+idLen])}
	seg.hdrLen = int64(len(segMagic) + 2 + idLen)
	r := newSegmentReader(f, seg.hdrLen, 1<<62, nil)
	for _, ok := r.next(); ok; _, ok = r.next() {
		seg.records++
	}
	seg.size = r.off
	if st, err := f.Stat(); err == nil && st.Size() > seg.size {
		seg.cut = st.Size() - seg.size
		if err := f.Truncate(seg.size); err != nil {
			return nil, fmt.Errorf("truncate torn spool segment: %w", err)
		}
	}
	return seg, nil
}

func countRecords(name string, from, to int64) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, fmt.Errorf("open spool segment: %w", err)
	}
	defer f.Close()
	r := newSegmentReader(f, from, to, nil)
	var n int64
	for _, ok := r.next(); ok; _, ok = r.next() {
		n++
	}
	return n, nil
}

// spoolRecord is one record as read back.
type spoolRecord struct {
	seq      uint64
	observed int64
	kind     recordKind
	json     []byte // valid until the next read
}

// segmentReader reads whole, checksummed records from off up to end.
type segmentReader struct {
	f   *os.File
	off int64
	end int64
	buf []byte
	pos int // start of unread bytes in buf
	lim int // end of valid bytes in buf
}

// newSegmentReader reads f from off to end, into buf when it is given.
func newSegmentReader(f *os.File, off, end int64, buf []byte) *segmentReader {
	if buf == nil {
		buf = make([]byte, 256<<10)
	}
	return &segmentReader{f: f, off: off, end: end, buf: buf}
}

// next returns the next whole record, or false at the end or at a torn or
// corrupt record (the writer's crash point).
func (r *segmentReader) next() (spoolRecord, bool) {
	if !r.fill(recHeaderSize) {
		return spoolRecord{}, false
	}
	h := r.buf[r.pos:]
	n := int(binary.LittleEndian.Uint32(h))
	if n < recHeaderSize-8 || n > maxRecordSize || !r.fill(8+n) {
		return spoolRecord{}, false
	}
	h = r.buf[r.pos : r.pos+8+n]
	if crc32.Checksum(h[8:], castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
		return spoolRecord{}, false
	}
	rec := spoolRecord{
		seq:      binary.LittleEndian.Uint64(h[8:]),
		observed: int64(binary.LittleEndian.Uint64(h[16:])),
		kind:     recordKind(h[24]),
		json:     h[recHeaderSize:],
	}
	r.pos += 8 + n
	r.off += int64(8 + n)
	return rec, true
}

// fill makes n bytes from pos available in buf, reading no further than end.
func (r *segmentReader) fill(n int) bool {
	if r.lim-r.pos >= n {
		return true
	}
	if int64(n) > r.end-r.off {
		return false
	}
	copy(r.buf, r.buf[r.pos:r.lim])
	r.lim -= r.pos
	r.pos = 0
	if n > len(r.buf) {
		r.buf = append(r.buf, make([]byte, n-len(r.buf))...)
	}
	for r.lim < n {
		want := min(int64(len(r.buf)-r.lim), r.end-(r.off+int64(r.lim)))
		m, err := r.f.ReadAt(r.buf[r.lim:r.lim+int(want)], r.off+int64(r.lim))
		r.lim += m
		if m == 0 || (err != nil && r.lim < n) {
			return false
		}
	}
	return true
}

// beginRecord reserves a record's header on b; the caller appends the
// JSON, then calls finishRecord with the returned start.
func beginRecord(b []byte) ([]byte, int) {
	return append(b, make([]byte, recHeaderSize)...), len(b)
}

// finishRecord fills in the header of the record that starts at start.
func finishRecord(b []byte, start int, seq uint64, observed int64, kind recordKind) []byte {
	h := b[start:]
	binary.LittleEndian.PutUint32(h, uint32(len(h)-8))
	binary.LittleEndian.PutUint64(h[8:], seq)
	binary.LittleEndian.PutUint64(h[16:], uint64(observed))
	h[24] = byte(kind)
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(h[8:], castagnoli))
	return b
}
