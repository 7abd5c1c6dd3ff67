package seal

import (
	"crypto/hmac"
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
	maxEvery        = 100000 // keeps a seal record well under session.MaxRecord
)

// Options configure a Sealer.
type Options struct {
	Every    int           // seal after this many lines; 0: DefaultEvery
	Interval time.Duration // seal what waited this long, at a flush; 0: DefaultInterval
	Now      func() time.Time
}

// Sealer makes the seal records of one run. It implements session.Sealer.
type Sealer struct {
	key   [32]byte // signs the next seal, then is replaced by its successor
	id    string
	epoch uint64
	seq   uint64
	prev  [32]byte // the chain hash of the last seal; zero before the first

	content hash.Hash // SHA-256 of the lines since the last seal
	locs    []byte    // CRC-32C of each of those lines: where a change is
	lines   int

	every    int
	interval time.Duration
	now      func() time.Time
	last     time.Time
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewSealer seals with rk, which it takes over: rk's key is erased.
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
	s := &Sealer{key: rk.key, id: rk.ID, epoch: rk.Epoch, content: sha256.New(),
		locs: make([]byte, 0, 4*(opts.Every+2)), every: opts.Every, interval: opts.Interval, now: opts.Now}
	clear(rk.key[:])
	s.last = s.now()
	return s
}

// Add takes one line, newline included, and reports whether a seal is due.
func (s *Sealer) Add(line []byte) bool {
	s.content.Write(line)
	s.locs = binary.BigEndian.AppendUint32(s.locs, crc32.Checksum(line, castagnoli))
	s.lines++
	return s.lines >= s.every
}

// Idle reports whether lines have waited unsealed for the interval.
func (s *Sealer) Idle() bool {
	return s.lines > 0 && s.now().Sub(s.last) >= s.interval
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
	b = append(b, `,"key_id":"`...)
	b = append(b, s.id...)
	b = append(b, `","epoch":`...)
	b = strconv.AppendUint(b, s.epoch, 10)
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
	var mac [32]byte
	m := hmac.New(sha256.New, s.key[:])
	m.Write(b[start:])
	m.Sum(mac[:0])
	b = append(b, `,"mac":"`...)
	b = hex.AppendEncode(b, mac[:])
	b = append(b, "\"}\n"...)

	derive(&s.key, labelNext, &s.key)
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
