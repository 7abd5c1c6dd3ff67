package export

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The spool is a directory of segment files plus a cursor file. A segment
// holds the records of one session in the order they were written, each
// write of several records packed as one block:
//
//	header: "NSTSPOOL" | u8 version | u8 len | session id
//	record: u32 len | u32 crc32c(rest) | u64 seq | i64 observed ns | u8 kind | JSON
//	block:  u32 len | u32 crc32c(rest) | u64 records | i64 unpacked len | u8 kindBlock | S2 block of records
//
// A position is always a frame's (a record or a block), so batches end at
// block ends. Version 1 segments (before blocks) hold records only and are
// read as they are; a version this nstrace does not know is refused.
//
// The cursor names the first record the collector has not acknowledged
// (segment number and byte offset); it is replaced by rename, so it is
// always whole. Segments wholly before the cursor are deleted.
//
// A segment log rather than a session file: the spool needs byte offsets
// to resume from, dropping the oldest records by whole files when it is
// full, and a checksum per record to find where a killed writer stopped;
// a session file is the user's recording, compressed and rotated by name.
const (
	segMagic        = "NSTSPOOL"
	segVersion      = 2
	segVersionPlain = 1 // records only
	recHeaderSize   = 4 + 4 + 8 + 8 + 1
	maxRecordSize   = 1 << 20
	maxBlockSize    = 4 << 20 // unpacked; a larger write is spooled as plain records
	maxFrameSize    = maxBlockSize + maxBlockSize/4
	segSuffix       = ".seg"
	cursorName      = "cursor"
	lockName        = "lock"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrSpoolBusy says another exporter has the spool directory open.
var ErrSpoolBusy = errors.New("spool in use by another nstrace")

// ErrSpoolCorrupt marks a segment whose header is not one the spool wrote.
var ErrSpoolCorrupt = errors.New("spool segment corrupt")

// segment is one file of the spool.
type segment struct {
	num     uint64
	session string
	hdrLen  int64 // where the first record starts
	size    int64 // bytes written and readable (whole records only)
	records int64 // records in the file
	cut     int64 // bytes after the last whole record, cut off on opening
}

func (s *segment) name(dir string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", s.num, segSuffix))
}

// position is a record's place in the spool.
type position struct {
	seg uint64
	off int64
}

func (p position) before(q position) bool {
	return p.seg < q.seg || (p.seg == q.seg && p.off < q.off)
}

// spool is the segment log. Its methods are safe for one writer and one
// reader (the sender) at a time; mu guards the shared bookkeeping.
type spool struct {
	dir     string
	lock    *os.File // flocked while open: one exporter per spool
	packed  []byte   // the writer's: its last block
	limit   int64    // bytes on disk the segments may take
	segSize int64    // a segment is closed past this size

	mu      sync.Mutex
	segs    []*segment // oldest first; the last is written to
	active  *os.File
	total   int64    // bytes of all segments
	read    position // the sender's next record
	readIdx int64    // records before read in its segment
	acked   position // the cursor
	unsaved bool     // acked has moved since the cursor file was written
	gone    []string // segments wholly before acked, deleted once it is written
	savedAt time.Time
	dropped uint64 // records removed unsent to stay under limit
	cut     int64  // bytes of part records found on opening
}

// openSpool opens dir (creating it), checks every segment, truncates a torn
// tail left by a killed writer, and starts a new segment for session.
func openSpool(dir string, limit int64, session string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock spool: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", dir, ErrSpoolBusy)
		}
		return nil, fmt.Errorf("lock spool: %w", err)
	}
	s, err := loadSpool(dir, limit, session)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// loadSpool reads the spool's segments and cursor, and starts a segment.
func loadSpool(dir string, limit int64, session string) (*spool, error) {
	s := &spool{dir: dir, limit: limit, segSize: max(limit/8, 64<<10)}
	s.segSize = min(s.segSize, 16<<20)
	cur, err := readCursor(dir)
	if err != nil {
		return nil, err
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		return nil, fmt.Errorf("list spool: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		num, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), segSuffix), 10, 64)
		if err != nil {
			continue // not ours
		}
		seg, err := scanSegment(name, num)
		if err != nil {
			return nil, err
		}
		if seg.num < cur.seg || (seg.num == cur.seg && cur.off >= seg.size) {
			if err := os.Remove(name); err != nil {
				return nil, fmt.Errorf("remove sent segment: %w", err)
			}
			continue
		}
		s.segs = append(s.segs, seg)
		s.total += seg.size
	}
	s.acked = cur
	for _, seg := range s.segs {
		s.cut += seg.cut
	}
	if len(s.segs) > 0 {
		first := s.segs[0]
		if first.num != cur.seg || cur.off < first.hdrLen {
			s.acked = position{first.num, first.hdrLen}
		}
		s.read = s.acked
		if s.acked.off > first.hdrLen {
			if s.readIdx, err = countRecords(first.name(dir), first.hdrLen, s.acked.off); err != nil {
				return nil, err
			}
		}
	}
	next := cur.seg + 1
	if n := len(s.segs); n > 0 {
		next = max(next, s.segs[n-1].num+1)
	}
	if err := s.startSegment(next, session); err != nil {
		return nil, err
	}
	return s, nil
}

// startSegment closes the active segment and opens a new one. Called with
// mu held (or before the spool is shared).
func (s *spool) startSegment(num uint64, session string) error {
	if s.active != nil {
		if err := s.active.Close(); err != nil {
			return fmt.Errorf("close spool segment: %w", err)
		}
		s.active = nil
	}
	seg := &segment{num: num, session: session}
	f, err := os.OpenFile(seg.name(s.dir), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	hdr := append([]byte(segMagic), segVersion, byte(len(session)))
	hdr = append(hdr, session...)
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		return fmt.Errorf("write spool segment: %w", err)
	}
	seg.hdrLen, seg.size = int64(len(hdr)), int64(len(hdr))
	s.active = f
	s.segs = append(s.segs, seg)
	s.total += seg.size
	if len(s.segs) == 1 {
		s.read, s.readIdx, s.acked = position{num, seg.hdrLen}, 0, position{num, seg.hdrLen}
	}
	return nil
}

// appendRecords writes buf, holding n whole records, to the active
// segment, first dropping the oldest segments as needed to stay under the
// limit. It returns how many unsent records that dropped.
func (s *spool) appendRecords(buf []byte, n int64) (dropped uint64, err error) {
	if len(buf) <= maxBlockSize {
		s.packed = packBlock(s.packed, buf, n)
		buf = s.packed
	} else {
		sealRecords(buf)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.segs[len(s.segs)-1]
	if cur.size > cur.hdrLen && (cur.size+int64(len(buf)) > s.segSize || s.total+int64(len(buf)) > s.limit) {
		if err := s.startSegment(cur.num+1, cur.session); err != nil {
			return 0, err
		}
		cur = s.segs[len(s.segs)-1]
	}
	for s.total+int64(len(buf)) > s.limit && len(s.segs) > 1 {
		dropped += s.dropOldest()
	}
	if _, err := s.active.Write(buf); err != nil {
		// No part record for the reader to trip on; if even that fails, the
		// reader's CRC check skips the torn record and counts it.
		terr := s.active.Truncate(cur.size)
		s.dropped += dropped
		return dropped, errors.Join(fmt.Errorf("write spool segment: %w", err), terr)
	}
	cur.size += int64(len(buf))
	cur.records += n
	s.total += int64(len(buf))
	s.dropped += dropped
	return dropped, nil
}

// dropOldest removes the oldest segment and counts its records the sender
// has not read yet. Records it has read are in its batch in memory: they
// are either acknowledged or counted when the exporter stops.
func (s *spool) dropOldest() uint64 {
	seg := s.segs[0]
	var lost int64
	switch {
	case s.read.seg == seg.num:
		lost = seg.records - s.readIdx
	case s.read.seg < seg.num:
		lost = seg.records
	}
	os.Remove(seg.name(s.dir))
	s.total -= seg.size
	s.segs = s.segs[1:]
	next := s.segs[0]
	if s.read.seg <= seg.num {
		s.read, s.readIdx = position{next.num, next.hdrLen}, 0
	}
	if s.acked.seg <= seg.num {
		s.acked = position{next.num, next.hdrLen}
	}
	return uint64(lost)
}

// readable says where the sender may read up to in its segment, moving it
// to the next segment when it has read the whole of a closed one, or when
// its segment is gone (acknowledged whole, or dropped).
func (s *spool) readable() (seg *segment, from, to int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sg := range s.segs {
		if sg.num < s.read.seg {
			continue
		}
		if sg.num > s.read.seg || (s.read.off >= sg.size && i+1 < len(s.segs)) {
			if sg.num == s.read.seg {
				sg = s.segs[i+1]
			}
			s.read, s.readIdx = position{sg.num, sg.hdrLen}, 0
		}
		return sg, s.read.off, sg.size
	}
	return nil, 0, 0
}

// advance records that the sender read n records of seg up to off. It is
// false when the segment was dropped meanwhile (its records were counted).
func (s *spool) advance(seg *segment, from, off, n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.read.seg != seg.num || s.read.off != from {
		return false
	}
	s.read.off = off
	s.readIdx += n
	return true
}

// skipRest gives up the rest of seg from the sender's position, where a
// record does not read back whole (a damaged disk), and says how many
// records that loses.
func (s *spool) skipRest(seg *segment, from int64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.read.seg != seg.num || s.read.off != from {
		return 0
	}
	lost := seg.records - s.readIdx
	s.read.off, s.readIdx = seg.size, seg.records
	return uint64(max(lost, 0))
}

// holds says whether seg is still in the spool.
func (s *spool) holds(seg *segment) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sg := range s.segs {
		if sg == seg {
			return true
		}
	}
	return false
}

func (s *spool) bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// pending counts the records not yet read by the sender.
func (s *spool) pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, sg := range s.segs {
		switch {
		case sg.num == s.read.seg:
			n += sg.records - s.readIdx
		case sg.num > s.read.seg:
			n += sg.records
		}
	}
	return n
}

func (s *spool) close() error {
	serr := s.saveCursor()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return serr
	}
	err := errors.Join(serr, s.active.Close())
	s.active = nil
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}
