package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// records frames seqs from..to-1 as one buffer of spool records.
func records(from, to int) ([]byte, int64) {
	var b []byte
	for seq := from; seq < to; seq++ {
		var start int
		b, start = beginRecord(b)
		// A field that does not pack, as a real event's inode numbers
		// and times, so that blocks do not pack to nothing.
		b = fmt.Appendf(b, `{"time":"2026-11-29T12:00:00.000000000Z","event":"unshare","pid":%d,"h":"%016x"}`, seq, uint64(seq)*0x9e3779b97f4a7c15)
		b = finishRecord(b, start, uint64(seq), int64(seq), kindEvent)
	}
	return b, int64(to - from)
}

// readAll reads what the spool holds from its read position, advancing it.
func readAll(t *testing.T, s *spool) []uint64 {
	t.Helper()
	var seqs []uint64
	for {
		seg, from, to := s.readable()
		if seg == nil || from >= to {
			return seqs
		}
		f, err := os.Open(seg.name(s.dir))
		if err != nil {
			t.Fatal(err)
		}
		r := newSegmentReader(f, from, to, nil)
		var n int64
		for rec, ok := r.next(); ok; rec, ok = r.next() {
			seqs = append(seqs, rec.seq)
			n++
		}
		f.Close()
		if n == 0 {
			return seqs // damage: the caller decides
		}
		if !s.advance(seg, from, r.off, n) {
			t.Fatal("advance refused with no writer")
		}
	}
}

func TestSpoolResumesAtCursor(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, MinSpoolSize, "one")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{1, 5}, {5, 11}} {
		b, n := records(r[0], r[1])
		if _, err := s.appendRecords(b, n); err != nil {
			t.Fatal(err)
		}
	}
	// Acknowledge the first four records only.
	seg, from, _ := s.readable()
	f, _ := os.Open(seg.name(dir))
	r := newSegmentReader(f, from, 1<<40, nil)
	for range 4 {
		r.next()
	}
	f.Close()
	if err := s.ack(position{seg.num, r.off}); err != nil {
		t.Fatal(err)
	}
	s.close()

	s, err = openSpool(dir, MinSpoolSize, "two")
	if err != nil {
		t.Fatal(err)
	}
	if p := s.pending(); p != 6 {
		t.Fatalf("pending %d after reopening; want 6", p)
	}
	got := readAll(t, s)
	if fmt.Sprint(got) != "[5 6 7 8 9 10]" {
		t.Fatalf("read %v after reopening; want 5..10", got)
	}
	if s.segs[0].session != "one" || s.segs[len(s.segs)-1].session != "two" {
		t.Fatalf("segment sessions %q, %q; want one, then two", s.segs[0].session, s.segs[len(s.segs)-1].session)
	}
}

func TestSpoolTruncatesTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, MinSpoolSize, "one")
	if err != nil {
		t.Fatal(err)
	}
	b, n := records(1, 6)
	if _, err := s.appendRecords(b, n); err != nil {
		t.Fatal(err)
	}
	name, whole := s.segs[0].name(dir), s.segs[0].size
	s.close()
	// A writer killed in the middle of a record leaves part of it.
	torn, _ := records(6, 7)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(torn[:len(torn)-3]); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s, err = openSpool(dir, MinSpoolSize, "two")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s); fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("read %v; want the five whole records", got)
	}
	if st, _ := os.Stat(name); st.Size() != whole {
		t.Fatalf("segment is %d bytes; want it cut back to %d", st.Size(), whole)
	}
}

func TestSpoolRefusesForeignSegment(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.seg"), []byte("not a spool segment"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSpool(dir, MinSpoolSize, "one"); !errors.Is(err, ErrSpoolCorrupt) {
		t.Fatalf("openSpool: %v; want ErrSpoolCorrupt", err)
	}
}

// TestSpoolDropsOldestCounted: past the limit the oldest unread records go,
// and exactly those are counted.
func TestSpoolDropsOldestCounted(t *testing.T) {
	s, err := openSpool(t.TempDir(), MinSpoolSize, "one")
	if err != nil {
		t.Fatal(err)
	}
	const n = 40000
	var dropped uint64
	for from := 1; from <= n; from += 200 {
		b, k := records(from, from+200)
		d, err := s.appendRecords(b, k)
		if err != nil {
			t.Fatal(err)
		}
		dropped += d
		if s.bytes() > MinSpoolSize {
			t.Fatalf("spool at %d bytes, over its %d limit", s.bytes(), MinSpoolSize)
		}
	}
	got := readAll(t, s)
	if dropped == 0 || uint64(len(got))+dropped != n {
		t.Fatalf("%d read back, %d dropped; want them to add up to %d", len(got), dropped, n)
	}
	// What is left is the newest records, in order, none missing.
	for i, seq := range got {
		if seq != uint64(n-len(got)+1+i) {
			t.Fatalf("record %d is seq %d; want the newest %d in order", i, seq, len(got))
		}
	}
}

func TestSpoolBusy(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, MinSpoolSize, "one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openSpool(dir, MinSpoolSize, "two"); !errors.Is(err, ErrSpoolBusy) {
		t.Fatalf("second open: %v; want ErrSpoolBusy", err)
	}
	s.close()
	s, err = openSpool(dir, MinSpoolSize, "three")
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	s.close()
}

// TestSpoolSkipsDamage: a record damaged on disk stops the reader; the
// rest of its segment is given up and counted.
func TestSpoolSkipsDamage(t *testing.T) {
	s, err := openSpool(t.TempDir(), MinSpoolSize, "one")
	if err != nil {
		t.Fatal(err)
	}
	var one int
	for seq := 1; seq <= 10; seq++ { // one a write: plain records
		b, n := records(seq, seq+1)
		one = len(b)
		if _, err := s.appendRecords(b, n); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(s.segs[0].name(s.dir), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'X'}, s.segs[0].hdrLen+int64(4*one+recHeaderSize+3)); err != nil { // inside record 5's JSON
		t.Fatal(err)
	}
	f.Close()
	if got := readAll(t, s); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("read %v; want the four records before the damage", got)
	}
	seg, from, _ := s.readable()
	if lost := s.skipRest(seg, from); lost != 6 {
		t.Fatalf("skipRest lost %d; want 6", lost)
	}
	if p := s.pending(); p != 0 {
		t.Fatalf("pending %d after skipping; want 0", p)
	}
}

// TestSpoolReadsVersion1: a spool left by an nstrace from before blocks
// (plain records, version 1) is read as it is, then written in blocks.
func TestSpoolReadsVersion1(t *testing.T) {
	dir := t.TempDir()
	old := append([]byte(segMagic), segVersionPlain, 3)
	old = append(old, "old"...)
	b, _ := records(1, 6)
	sealRecords(b)
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.seg"), append(old, b...), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := openSpool(dir, MinSpoolSize, "new")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if p := s.pending(); p != 5 {
		t.Fatalf("pending %d in the version 1 segment; want 5", p)
	}
	b, n := records(6, 9)
	if _, err := s.appendRecords(b, n); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s); fmt.Sprint(got) != "[1 2 3 4 5 6 7 8]" {
		t.Fatalf("read %v; want 1..5 from the old segment, 6..8 from the new", got)
	}
}

// TestSpoolRefusesUnknownVersion: a segment of a later format is refused,
// in one line that says so, rather than read wrong.
func TestSpoolRefusesUnknownVersion(t *testing.T) {
	dir := t.TempDir()
	seg := append([]byte(segMagic), 9, 3)
	seg = append(seg, "new"...)
	name := filepath.Join(dir, "00000000000000000001.seg")
	if err := os.WriteFile(name, seg, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openSpool(dir, MinSpoolSize, "one")
	want := name + ": format version 9, not one this nstrace reads (1, 2): spool segment corrupt"
	if !errors.Is(err, ErrSpoolCorrupt) || err.Error() != want {
		t.Fatalf("openSpool: %v; want %q", err, want)
	}
}

// TestSpoolBlockDamage: a block damaged on disk is given up whole, and
// its records counted, the blocks before it read.
func TestSpoolBlockDamage(t *testing.T) {
	s, err := openSpool(t.TempDir(), MinSpoolSize, "one")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var damageAt int64
	for from := 1; from <= 30; from += 10 {
		if from == 21 {
			damageAt = s.segs[0].size + recHeaderSize + 5
		}
		b, n := records(from, from+10)
		if _, err := s.appendRecords(b, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.segs[0].records; got != 30 {
		t.Fatalf("segment counts %d records; want 30", got)
	}
	f, err := os.OpenFile(s.segs[0].name(s.dir), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, damageAt); err != nil { // inside the third block
		t.Fatal(err)
	}
	f.Close()
	got := readAll(t, s)
	if len(got) != 20 || got[0] != 1 || got[19] != 20 {
		t.Fatalf("read %v; want the two blocks before the damage, 1..20", got)
	}
	seg, from, _ := s.readable()
	if lost := s.skipRest(seg, from); lost != 10 {
		t.Fatalf("skipRest lost %d; want the damaged block's 10", lost)
	}
}
