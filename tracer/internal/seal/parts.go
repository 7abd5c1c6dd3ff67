package seal

import (
	"fmt"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
	"github.com/nstrace/nstrace/tracer/session"
)

// How the parts of a recording follow one another, and how each ends.

func (v *Verifier) headerLine(pos session.Position, line []byte) {
	id, part, err := sessionhook.ParseHeader(line)
	if err != nil {
		v.problemPart(pos, v.part, "session header unreadable: "+err.Error())
		v.add(pos, line, false)
		return
	}
	v.finishPart(nil, "")
	switch {
	case id != v.session && v.next != "":
		v.problemPart(pos, part, fmt.Sprintf("part %d of another recording (%s) where %s of recording %s should follow",
			part, id, v.next, v.session))
	case id == v.session && part <= v.part:
		v.problemPart(pos, part, fmt.Sprintf("part %d comes after part %d: parts out of order", part, v.part))
		v.noChain = true
	case id == v.session && part > v.maxPart+1:
		v.problemPart(pos, part, fmt.Sprintf("part %d follows part %d: %s missing or out of order", part, v.maxPart, partRange(v.maxPart+1, part-1)))
		v.noChain = true
	case id == v.session && part != v.part+1:
		v.noChain = true // back in order after parts out of order
	case id != v.session && part > 1:
		v.problemPart(pos, part, fmt.Sprintf("the recording starts at part %d: %s not given", part, partRange(1, part-1)))
		v.noChain = true
	}
	if id != v.session {
		v.havePrev, v.nextSeq, v.maxPart = false, 0, 0
	}
	v.maxPart = max(v.maxPart, part)
	if id != v.session {
		v.sealed = false
	}
	v.session, v.part, v.trailer, v.ended, v.next = id, part, false, false, ""
	v.res.Parts++
	v.add(pos, line, false)
}

func partRange(from, to int) string {
	if from == to {
		return fmt.Sprintf("part %d", from)
	}
	return fmt.Sprintf("parts %d–%d", from, to)
}

func (v *Verifier) trailerLine(pos session.Position, line []byte) {
	v.add(pos, line, false)
	v.trailer = true
	if next, err := sessionhook.ParseTrailer(line); err == nil {
		v.next, v.nextPos = next, pos
	}
}

// finishPart ends a part: what no seal covers is reported, and a part
// that stops without its trailer.
func (v *Verifier) finishPart(torn *session.Position, why string) {
	if v.ended {
		return
	}
	unsealed := 0
	for _, l := range v.pend {
		if l.record {
			unsealed++
		}
	}
	unsealed += v.overflow
	after := "no seal"
	if !v.res.LastSeal.IsZero() {
		after = fmt.Sprintf("the last seal (%s, %s)", v.where(v.lastSeal), v.res.LastSeal.UTC().Format(time.RFC3339Nano))
	}
	switch {
	case torn != nil || (why != "" && v.part > 0):
		// A torn last line, or a compressed stream cut short, is what
		// kill -9 mid-write leaves. A cut at a line boundary is as easy to
		// make, so none is a sign of tampering on its own: all are an
		// unsealed tail.
		pos, missing := v.lastPos, ""
		if torn != nil {
			pos, missing = *torn, v.missing(false)
		}
		v.add1(Problem{Pos: pos, Part: v.part, Unsealed: true,
			Msg: fmt.Sprintf("%s, %d whole records after %s: they and what followed are not verified%s", why, unsealed, after, missing)})
	case unsealed > 0 && v.trailer && !v.sealed:
		v.problemPart(v.pend[0].pos, v.part, fmt.Sprintf("not sealed (recorded with --seal=false, or by an older nstrace): its %d records are not verified", unsealed))
	case unsealed > 0:
		p := Problem{Pos: v.pend[0].pos, Part: v.part, Unsealed: true,
			Msg: fmt.Sprintf("%d records after %s are unsealed, not verified: the recorder stopped before sealing them (killed?)%s", unsealed, after, v.missing(false))}
		v.add1(p)
	case v.part > 0 && !v.trailer && len(v.pend) == 0:
		// A recorder killed right after a seal: like an unsealed tail, no
		// sign of tampering on its own; the missing epochs say how long.
		v.add1(Problem{Pos: v.lastSeal, Part: v.part, Unsealed: true,
			Msg: "no trailer after the last seal: the recorder stopped uncleanly, or what followed that seal was removed" + v.missing(true)})
	}
	v.reset()
	v.ended = true
}

// missing says how many epochs have no seal from the last seal up to now:
// a running recorder seals every epoch, so these are the time a killed
// recorder was not running or a deleted tail covered.
func (v *Verifier) missing(until bool) string {
	if v.interval <= 0 || v.res.LastSeal.IsZero() {
		return ""
	}
	now := v.now()
	n := int64(now.Sub(v.res.LastSeal) / v.interval)
	epochs := "epochs"
	if n == 1 {
		epochs = "epoch"
	}
	s := fmt.Sprintf("; nothing sealed after it: %d %s of %s missing up to now (%s)", n, epochs, v.interval, now.UTC().Format(time.RFC3339))
	if until {
		s = fmt.Sprintf("; sealed until %s, nothing after: %d %s of %s missing up to now (%s)",
			v.res.LastSeal.UTC().Format(time.RFC3339), n, epochs, v.interval, now.UTC().Format(time.RFC3339))
	}
	return s
}

// where names pos briefly: its line, and its file when that is not the
// file being read.
func (v *Verifier) where(pos session.Position) string {
	if pos.File == v.lastPos.File {
		return fmt.Sprintf("line %d", pos.Line)
	}
	return pos.String()
}
