package seal

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// Defaults for Options.
const (
	DefaultEvery    = 1000
	DefaultInterval = time.Second
	maxEvery        = 100000 // keeps a seal record well under the 1 MiB a session line may take
)

// Options configure a Sealer.
type Options struct {
	Every int // seal after this many lines; 0: DefaultEvery
	// Interval is the epoch: at a flush, a seal is written once this long
	// has passed since the last one, lines or none, so that every epoch
	// of a running recorder has a seal and a deleted tail shows as epochs
	// missing. 0: DefaultInterval.
	Interval time.Duration
	Now      func() time.Time
}

// Sealer makes the seal records of one run. It implements
// sessionhook.Sealer; Sealed sets it on a Writer's options.
type Sealer struct {
	key   [32]byte // signs the next seal, then is replaced by its successor
	mac   macer
	keyed bool // false: chain only, seals without key or MAC
	id    string
	epoch uint64
	seq   uint64
	prev  [32]byte // the chain hash of the last seal; zero before the first

	content hash.Hash // of the lines since the last seal
	locs    []byte    // CRC-32C of each of those lines: where a change is
	lines   int

	every    int
	interval time.Duration
	now      func() time.Time
	last     time.Time
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewSealer seals with rk, which it takes over: rk's key is erased. With
// rk nil it writes the chain alone (integrity, not authenticity): seals
// without a key ID or MAC.
func NewSealer(rk *RunKey, opts Options) *Sealer {
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	opts.Every = min(opts.Every, maxEvery)
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sealer{content: newContentHash(), locs: make([]byte, 0, 4*(opts.Every+2)),
		every: opts.Every, interval: opts.Interval, now: opts.Now}
	if rk != nil {
		s.key, s.id, s.epoch, s.keyed = rk.key, rk.ID, rk.Epoch, true
		clear(rk.key[:])
	}
	s.last = s.now()
	return s
}

// Add takes one line, newline included, and reports whether a seal is due.
func (s *Sealer) Add(line []byte) bool {
	s.content.Write(line)
	return s.Count(line)
}

// Count takes one line's checksum; its bytes come later, through Hash,
// with those of the lines counted after it, so that a buffer of records
// is hashed in one call rather than line by line.
func (s *Sealer) Count(line []byte) bool {
	s.locs = binary.BigEndian.AppendUint32(s.locs, crc32.Checksum(line, castagnoli))
	s.lines++
	return s.lines >= s.every
}

// Hash takes the bytes of lines given to Count, in order.
func (s *Sealer) Hash(b []byte) { s.content.Write(b) }

// Idle reports whether an epoch has passed since the last seal: a seal
// is due, lines or none.
func (s *Sealer) Idle() bool {
	return s.now().Sub(s.last) >= s.interval
}

// AppendSeal appends a seal record for the lines added since the last one
// (and end, the line to follow it, when set), then moves the key on and
// erases the one used.
func (s *Sealer) AppendSeal(b, end []byte) []byte {
	if end != nil {
		s.Add(end)
	}
	var content [32]byte
	s.content.Sum(content[:0])
	cur := chain(&s.prev, &content)

	start := len(b)
	b = append(b, `{"event":"seal","time":"`...)
	b = s.now().UTC().AppendFormat(b, event.TimeLayout)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, s.seq, 10)
	b = append(b, `,"lines":`...)
	b = strconv.AppendInt(b, int64(s.lines), 10)
	b = append(b, `,"interval_ms":`...)
	b = strconv.AppendInt(b, s.interval.Milliseconds(), 10)
	if s.keyed {
		b = append(b, `,"key_id":"`...)
		b = append(b, s.id...)
		b = append(b, `","epoch":`...)
		b = strconv.AppendUint(b, s.epoch, 10)
	}
	b = append(b, `,"prev":"`...)
	b = hex.AppendEncode(b, s.prev[:])
	b = append(b, `","hash":"`...)
	b = hex.AppendEncode(b, cur[:])
	b = append(b, `","loc":"`...)
	b = base64.StdEncoding.AppendEncode(b, s.locs)
	b = append(b, '"')
	if end != nil {
		b = append(b, `,"end":true`...)
	}
	if s.keyed {
		var mac [32]byte
		s.mac.sum(&s.key, b[start:], &mac)
		b = append(b, `,"mac":"`...)
		b = hex.AppendEncode(b, mac[:])
		b = append(b, '"')
		s.mac.sum(&s.key, []byte(labelNext), &s.key) // as derive does
	}
	b = append(b, "}\n"...)
	s.seq++
	s.prev = cur
	s.content.Reset()
	s.locs = s.locs[:0]
	s.lines = 0
	s.last = s.now()
	return b
}

// chain is the hash a seal stands for: SHA-256(prev || content), so each
// seal commits to every line before it.
func chain(prev, content *[32]byte) [32]byte {
	var in [64]byte
	copy(in[:32], prev[:])
	copy(in[32:], content[:])
	return sha256.Sum256(in[:])
}
