package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
	"github.com/nstrace/nstrace/tracer/session"
)

// Problem is one place where a recording does not verify.
type Problem struct {
	Pos  session.Position
	Part int    // the part (file of a rotated recording) it is in; 0: unknown
	Msg  string // what is wrong, for a person
	// Unsealed marks lines no seal covers yet (a recorder killed between
	// seals): not verified, but no sign of tampering either.
	Unsealed bool
}

func (p Problem) String() string {
	if p.Part > 0 {
		return fmt.Sprintf("%s: part %d: %s", p.Pos, p.Part, p.Msg)
	}
	return p.Pos.String() + ": " + p.Msg
}

// Result is what Verify found.
type Result struct {
	Problems      []Problem
	Dropped       int // problems beyond maxProblems, not listed
	Records       int // records (events, alerts, loss markers) covered by seals that check
	Seals         int
	Parts         int
	LastSeal      time.Time
	KeyID         string // the key seals were checked with; "" without a key
	Authenticated bool   // seals were checked against a key, not only chained
	ChainOnly     int    // seals without a MAC: recorded without a sealing key
}

// OK reports whether everything was sealed and every seal checked.
func (r *Result) OK() bool { return len(r.Problems) == 0 && r.Dropped == 0 && r.Seals > 0 }

// Summary is the one line verify prints when everything checks.
func (r *Result) Summary() string {
	s := fmt.Sprintf("verified: %d records sealed in %s by %s, last seal at %s",
		r.Records, plural(r.Parts, "part"), plural(r.Seals, "seal"), r.LastSeal.UTC().Format(time.RFC3339))
	switch {
	case r.Authenticated:
		return s + "; authentic (key " + r.KeyID + ")"
	case r.ChainOnly == r.Seals:
		return s + "; integrity only: no key (recorded without --seal-key-file)"
	}
	return s + "; integrity only: without --key the seals' authenticity is not checked"
}

const (
	maxProblems = 100
	maxPending  = maxEvery + 2 // lines remembered one by one between seals
	maxEpoch    = 1 << 20      // restarts of one key file
	maxSeq      = 1 << 24      // seals of one run
	// maxDerive bounds the key derivations one verify does, so that a
	// hostile file jumping between epochs and sequence numbers can not
	// keep it busy: a few seconds of HMACs.
	maxDerive = 1 << 23
)

// Verifier checks the seals of a recording fed to it line by line, in the
// order of its files. It is what VerifyFiles drives.
type Verifier struct {
	key *VerificationKey
	now func() time.Time // when the verification is: how long since the last seal
	res Result

	// where the reading is
	session  string
	part     int
	maxPart  int    // the highest part of this recording read so far
	trailer  bool   // this part's trailer was read
	ended    bool   // this part was finished: nothing more to say about it
	sealed   bool   // this recording has had a seal
	next     string // the last trailer's next part, and where it was
	nextPos  session.Position
	noChain  bool // the chain was broken already: do not report it twice
	noKey    bool // the wrong key was reported: check no more MACs
	lastSeal session.Position
	lastPos  session.Position // the last line read
	interval time.Duration    // the last seal's epoch

	// the chain
	havePrev bool
	prev     [32]byte
	nextSeq  uint64

	// lines since the last seal
	content  hash.Hash
	pend     []pendLine
	overflow int // lines beyond maxPending
	endSeal  *sealRecord
	endPos   session.Position

	// the run key cache: the key of seal seq in epoch
	cached       bool
	cEpoch, cSeq uint64
	derived      uint64 // key derivations done, bounded by maxDerive
	cKey         [32]byte
}

type pendLine struct {
	pos    session.Position
	crc    uint32
	record bool
}

// NewVerifier checks seals against key; nil checks the chain only. now
// is the clock (nil: time.Now): a recording that ends without its
// trailer is reported with the epochs missing from its last seal to now.
func NewVerifier(key *VerificationKey, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{key: key, now: now, content: newContentHash()}
	if key != nil {
		v.res.KeyID, v.res.Authenticated = key.ID(), true
	}
	return v
}

// VerifyFiles checks the session files at paths, given in order, at the
// time now gives (nil: time.Now).
func VerifyFiles(paths []string, key *VerificationKey, now func() time.Time) (*Result, error) {
	v := NewVerifier(key, now)
	for _, p := range paths {
		cut, err := sessionhook.ScanLines(p, func(pos sessionhook.Position, line []byte, complete bool) error {
			v.Line(pos, line, complete)
			return nil
		})
		var se *session.Error
		if errors.As(err, &se) && se.Pos.Line > 0 {
			v.problem(se.Pos, se.Err.Error())
		} else if err != nil {
			return nil, err
		}
		v.EndFile(cut)
	}
	return v.Finish(), nil
}

// Line kinds by their start, as session.Writer writes them: verify tells
// headers, trailers and seals apart without decoding every record.
var (
	headerPrefix  = []byte(`{"event":"session"`)
	trailerPrefix = []byte(`{"event":"end"`)
	sealPrefix    = []byte(`{"event":"seal"`)
)

// Line takes the next line of the recording, without its newline.
func (v *Verifier) Line(at sessionhook.Position, line []byte, complete bool) {
	pos := session.Position(at)
	v.lastPos = pos
	if !complete {
		v.finishPart(&pos, "truncated: the file ends mid-line")
		return
	}
	if v.endSeal != nil {
		if bytes.HasPrefix(line, trailerPrefix) {
			v.trailerLine(pos, line)
			v.checkEnd()
			return
		}
		v.checkEnd()
	}
	switch {
	case bytes.HasPrefix(line, sealPrefix):
		v.sealLine(pos, line)
	case bytes.HasPrefix(line, headerPrefix):
		v.headerLine(pos, line)
	case bytes.HasPrefix(line, trailerPrefix):
		v.trailerLine(pos, line)
	default:
		v.add(pos, line, true)
	}
}

// EndFile ends the file being read; cut: its compressed stream was cut short.
func (v *Verifier) EndFile(cut bool) {
	if v.endSeal != nil {
		v.checkEnd()
	}
	if cut {
		v.finishPart(nil, "compressed stream cut short")
		return
	}
	v.finishPart(nil, "")
}

// Finish returns what was found.
func (v *Verifier) Finish() *Result {
	if v.next != "" {
		v.problemPart(v.nextPos, v.part, fmt.Sprintf("the recording goes on in %s, which was not given (deleted?)", v.next))
	}
	if v.res.Seals == 0 && len(v.res.Problems) == 0 {
		v.problem(session.Position{}, "no seal records: the recording is not sealed")
	}
	return &v.res
}

func (v *Verifier) add(pos session.Position, line []byte, record bool) {
	v.content.Write(line)
	v.content.Write([]byte{'\n'})
	crc := crc32.Update(crc32.Checksum(line, castagnoli), castagnoli, []byte{'\n'})
	if len(v.pend) < maxPending {
		v.pend = append(v.pend, pendLine{pos: pos, crc: crc, record: record})
	} else {
		v.overflow++
	}
}

func (v *Verifier) sealLine(pos session.Position, line []byte) {
	s, err := parseSeal(line)
	if err != nil {
		v.problemPart(pos, v.part, err.Error()+": the lines before it are not verified")
		v.reset()
		v.havePrev, v.noChain = false, true
		return
	}
	if s.End {
		v.endSeal, v.endPos = s, pos // it covers the trailer that follows
		return
	}
	v.check(pos, s)
}

func (v *Verifier) checkEnd() {
	s, pos := v.endSeal, v.endPos
	v.endSeal = nil
	v.check(pos, s)
}

// check verifies one seal against the lines since the one before.
func (v *Verifier) check(pos session.Position, s *sealRecord) {
	bad := len(v.res.Problems) + v.res.Dropped
	v.checkChain(pos, s)
	var content [32]byte
	v.content.Sum(content[:0])
	if chain(&s.Prev, &content) != s.Hash || len(v.pend)+v.overflow != s.Lines {
		v.locate(pos, s)
	}
	v.checkMac(pos, s)
	if len(v.res.Problems)+v.res.Dropped == bad {
		for _, l := range v.pend {
			if l.record {
				v.res.Records++
			}
		}
	}
	v.res.Seals++
	v.sealed = true
	v.res.LastSeal, v.lastSeal, v.interval = s.Time, pos, s.Interval
	v.prev, v.havePrev, v.nextSeq, v.noChain = s.Hash, true, s.Seq+1, false
	v.reset()
}

func (v *Verifier) checkChain(pos session.Position, s *sealRecord) {
	switch {
	case v.noChain:
	case !v.havePrev && s.Seq != 0:
		v.problemPart(pos, v.part, fmt.Sprintf("the recording's seals start at seal %d: seals before it missing", s.Seq))
	case !v.havePrev && s.Prev != [32]byte{}:
		v.problemPart(pos, v.part, "the first seal names a seal before it: the start of the recording is missing")
	case !v.havePrev:
	case s.Seq > v.nextSeq:
		v.problemPart(pos, v.part, fmt.Sprintf("seal %d follows seal %d: %d seals and the lines they covered are missing",
			s.Seq, v.nextSeq-1, s.Seq-v.nextSeq))
	case s.Seq < v.nextSeq:
		v.problemPart(pos, v.part, fmt.Sprintf("seal %d follows seal %d: out of order", s.Seq, v.nextSeq-1))
	case s.Prev != v.prev:
		v.problemPart(pos, v.part, fmt.Sprintf("seal %d does not chain to the seal before it (%s): one of them was replaced", s.Seq, v.where(v.lastSeal)))
	}
}

func (v *Verifier) checkMac(pos session.Position, s *sealRecord) {
	if s.KeyID == "" {
		v.res.ChainOnly++
	}
	if v.key == nil || v.noKey {
		return
	}
	if s.KeyID == "" {
		v.problemPart(pos, v.part, fmt.Sprintf("seal %d has no MAC: recorded without --seal-key-file, so only its integrity can be checked, not who wrote it", s.Seq))
		v.noKey = true
		return
	}
	if s.KeyID != v.res.KeyID {
		v.problemPart(pos, v.part, fmt.Sprintf("wrong key: sealed with key %s, the key given is %s", s.KeyID, v.res.KeyID))
		v.noKey = true
		return
	}
	if s.Epoch > maxEpoch || s.Seq > maxSeq || v.derived > maxDerive {
		v.problemPart(pos, v.part, "seal names an epoch or sequence number beyond reason: forged; no more seals are authenticated")
		v.noKey = true
		return
	}
	k := v.sealKey(s.Epoch, s.Seq)
	m := hmac.New(sha256.New, k[:])
	m.Write(s.Signed)
	if !hmac.Equal(m.Sum(nil), s.Mac[:]) {
		v.problemPart(pos, v.part, fmt.Sprintf("seal %d does not authenticate: forged, or changed after sealing", s.Seq))
	}
}

// sealKey derives the key of seal seq of the run at epoch, going on from
// the last one derived when it can.
func (v *Verifier) sealKey(epoch, seq uint64) [32]byte {
	if !v.cached || v.cEpoch != epoch || v.cSeq > seq {
		v.cKey, v.cEpoch, v.cSeq, v.cached = v.key.runKey(epoch), epoch, 0, true
		v.derived += epoch + 1
	}
	v.derived += seq - v.cSeq
	for ; v.cSeq < seq; v.cSeq++ {
		derive(&v.cKey, labelNext, &v.cKey)
	}
	return v.cKey
}

func (v *Verifier) reset() {
	v.content.Reset()
	v.pend, v.overflow = v.pend[:0], 0
}

func (v *Verifier) problem(pos session.Position, msg string) { v.problemPart(pos, 0, msg) }

func (v *Verifier) problemPart(pos session.Position, part int, msg string) {
	v.add1(Problem{Pos: pos, Part: part, Msg: msg})
}

func (v *Verifier) add1(p Problem) {
	if len(v.res.Problems) >= maxProblems {
		v.res.Dropped++
		return
	}
	v.res.Problems = append(v.res.Problems, p)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
