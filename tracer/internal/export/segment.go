package export

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/klauspost/compress/s2"
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
	if n < len(segMagic)+2 || string(hdr[:len(segMagic)]) != segMagic ||
		n < len(segMagic)+2+int(hdr[len(segMagic)+1]) {
		return nil, fmt.Errorf("%s: %w", name, ErrSpoolCorrupt)
	}
	if v := hdr[len(segMagic)]; v != segVersion && v != segVersionPlain {
		return nil, fmt.Errorf("%s: format version %d, not one this nstrace reads (%d, %d): %w",
			name, v, segVersionPlain, segVersion, ErrSpoolCorrupt)
	}
	idLen := int(hdr[len(segMagic)+1])
	seg := &segment{num: num, session: string(hdr[len(segMagic)+2 : len(segMagic)+2+idLen])}
	seg.hdrLen = int64(len(segMagic) + 2 + idLen)
	r := newSegmentReader(f, seg.hdrLen, 1<<62, nil)
	for fr, ok := r.nextFrame(); ok; fr, ok = r.nextFrame() {
		seg.records += fr.records()
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
	for fr, ok := r.nextFrame(); ok; fr, ok = r.nextFrame() {
		n += fr.records()
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

// segmentReader reads whole, checksummed records from off up to end,
// unpacking blocks: off moves past a block when its first record is read.
type segmentReader struct {
	f     *os.File
	off   int64
	end   int64
	buf   []byte
	pos   int    // start of unread bytes in buf
	lim   int    // end of valid bytes in buf
	block []byte // the unpacked block being read; kept between blocks
	bpos  int    // its next record
	left  int64  // its records not yet returned
	// Records of blocks read past that did not unpack: the block's
	// checksum matched, so only a bug gets here; counted, not skipped.
	damaged int64
}

// newSegmentReader reads f from off to end, into buf when it is given.
func newSegmentReader(f *os.File, off, end int64, buf []byte) *segmentReader {
	if buf == nil {
		buf = make([]byte, 256<<10)
	}
	return &segmentReader{f: f, off: off, end: end, buf: buf}
}

// inBlock says records of a block already read past are left: a reader
// stops only between frames, where off is a record's position.
func (r *segmentReader) inBlock() bool { return r.bpos < len(r.block) }

// next returns the next whole record, or false at the end or at a torn or
// corrupt frame (the writer's crash point).
func (r *segmentReader) next() (spoolRecord, bool) {
	if !r.inBlock() {
		fr, ok := r.nextFrame()
		if !ok {
			return spoolRecord{}, false
		}
		if fr.kind != kindBlock {
			return fr, true
		}
		// The block's checksum matched: what it unpacks to is what was
		// written, so a failure here is a bug, read as damage.
		r.block, r.bpos, r.left = r.block[:0], 0, fr.records()
		n, err := s2.DecodedLen(fr.json)
		if err != nil || n != int(fr.observed) || n > maxBlockSize {
			r.damaged += r.left
			return spoolRecord{}, false
		}
		if cap(r.block) < n {
			r.block = make([]byte, n)
		}
		if r.block, err = s2.Decode(r.block[:n], fr.json); err != nil {
			r.block = r.block[:0]
			r.damaged += r.left
			return spoolRecord{}, false
		}
	}
	rec, size, ok := parseRecord(r.block[r.bpos:])
	if !ok || r.left <= 0 {
		r.bpos = len(r.block)
		r.damaged += max(r.left, 0)
		return spoolRecord{}, false
	}
	r.bpos += size
	r.left--
	if r.left == 0 {
		r.bpos = len(r.block) // what follows the counted records is not read
	}
	return rec, true
}

// parseRecord reads one record of an unpacked block (its checksum was the
// block's).
func parseRecord(b []byte) (spoolRecord, int, bool) {
	if len(b) < recHeaderSize {
		return spoolRecord{}, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < recHeaderSize-8 || 8+n > len(b) {
		return spoolRecord{}, 0, false
	}
	return spoolRecord{
		seq:      binary.LittleEndian.Uint64(b[8:]),
		observed: int64(binary.LittleEndian.Uint64(b[16:])),
		kind:     recordKind(b[24]),
		json:     b[recHeaderSize : 8+n],
	}, 8 + n, true
}

// nextFrame returns the next whole frame as written: a record, or a block
// (kind kindBlock: seq holds its records, observed its unpacked size, json
// the packed bytes).
func (r *segmentReader) nextFrame() (spoolRecord, bool) {
	if !r.fill(recHeaderSize) {
		return spoolRecord{}, false
	}
	h := r.buf[r.pos:]
	n := int(binary.LittleEndian.Uint32(h))
	if n < recHeaderSize-8 || n > maxFrameSize || !r.fill(8+n) {
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

// records is how many records a frame holds.
func (fr spoolRecord) records() int64 {
	if fr.kind == kindBlock {
		return int64(fr.seq)
	}
	return 1
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

// packBlock frames buf, n whole records, as one block: its records packed
// with S2 (JSON with the same capability, executable and ancestor names
// record after record packs to a fraction), so the spool's bound holds
// several times the records. Where buf is a single record, packing it
// saves little and it is framed as it is. out is reused.
func packBlock(out, buf []byte, n int64) []byte {
	if n <= 1 {
		out = append(out[:0], buf...)
		sealRecords(out)
		return out
	}
	need := recHeaderSize + s2.MaxEncodedLen(len(buf))
	if cap(out) < need {
		out = make([]byte, need)
	}
	out = out[:need]
	packed := s2.Encode(out[recHeaderSize:], buf)
	out = out[:recHeaderSize+len(packed)]
	binary.LittleEndian.PutUint32(out, uint32(len(out)-8))
	binary.LittleEndian.PutUint64(out[8:], uint64(n))
	binary.LittleEndian.PutUint64(out[16:], uint64(len(buf)))
	out[24] = byte(kindBlock)
	binary.LittleEndian.PutUint32(out[4:], crc32.Checksum(out[8:], castagnoli))
	return out
}

// beginRecord reserves a record's header on b; the caller appends the
// JSON, then calls finishRecord with the returned start.
func beginRecord(b []byte) ([]byte, int) {
	return append(b, make([]byte, recHeaderSize)...), len(b)
}

// finishRecord fills in the header of the record that starts at start,
// all but its checksum: records packed in a block are checked by the
// block's, and sealRecords writes the checksums of those framed alone.
func finishRecord(b []byte, start int, seq uint64, observed int64, kind recordKind) []byte {
	h := b[start:]
	binary.LittleEndian.PutUint32(h, uint32(len(h)-8))
	binary.LittleEndian.PutUint64(h[8:], seq)
	binary.LittleEndian.PutUint64(h[16:], uint64(observed))
	h[24] = byte(kind)
	return b
}

// sealRecords writes the checksum of each of b's whole records.
func sealRecords(b []byte) {
	for len(b) >= recHeaderSize {
		n := 8 + int(binary.LittleEndian.Uint32(b))
		binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:n], castagnoli))
		b = b[n:]
	}
}
