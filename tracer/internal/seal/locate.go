package seal

import (
	"fmt"

	"github.com/nstrace/nstrace/tracer/session"
)

// locate says which lines differ from what seal s covered, using the
// CRC-32C it holds for each line: a changed line, a missing one, an
// inserted one, two swapped. The checksums only point; the seal's hash is
// what proves.
func (v *Verifier) locate(pos session.Position, s *sealRecord) {
	found, want := v.pend, s.Locs
	if v.overflow > 0 {
		v.problemPart(pos, v.part, fmt.Sprintf("seal %d covers %d lines, %d found before it: lines were added", s.Seq, s.Lines, len(found)+v.overflow))
		return
	}
	n, m := len(want), len(found)
	i := 0
	for i < min(n, m) && found[i].crc == want[i] {
		i++
	}
	at := func(k int) session.Position {
		if k < m {
			return found[k].pos
		}
		return pos
	}
	sealAt := fmt.Sprintf("(sealed by seal %d, %s)", s.Seq, lineOf(pos))
	switch {
	case m == n && i == n:
		v.problemPart(pos, v.part, fmt.Sprintf("seal %d: its hash does not match the lines it covers, which match their checksums: the seal was changed", s.Seq))
	case m == n:
		j := n - 1
		for found[j].crc == want[j] {
			j--
		}
		rest := 0
		for k := i; k <= j; k++ {
			if found[k].crc != want[k] {
				rest++
			}
		}
		switch {
		case j > i && rest == 2 && found[i].crc == want[j] && found[j].crc == want[i]:
			v.problemPart(at(i), v.part, fmt.Sprintf("this line and %s are swapped %s", lineOf(found[j].pos), sealAt))
		case rest == 1:
			v.problemPart(at(i), v.part, "record changed since it was sealed "+sealAt)
		default:
			v.problemPart(at(i), v.part, fmt.Sprintf("record changed since it was sealed, and %d more up to %s %s", rest-1, lineOf(found[j].pos), sealAt))
		}
	case m == n-1 && i == m && s.End:
		v.problemPart(pos, v.part, fmt.Sprintf("the trailer seal %d covers is missing after it", s.Seq))
	case m == n-1 && equal(found[i:], want[i+1:]):
		v.problemPart(at(i), v.part, "a sealed record is missing just before this line "+sealAt)
	case m == n+1 && equal(found[i+1:], want[i:]):
		v.problemPart(at(i), v.part, "this line was not sealed: inserted "+sealAt)
	default:
		v.problemPart(at(i), v.part, fmt.Sprintf("from this line on, %d lines where %d were sealed: lines removed, added or changed %s", m-i, n-i, sealAt))
	}
}

func equal(found []pendLine, want []uint32) bool {
	if len(found) != len(want) {
		return false
	}
	for k := range found {
		if found[k].crc != want[k] {
			return false
		}
	}
	return true
}

func lineOf(p session.Position) string { return fmt.Sprintf("line %d", p.Line) }
