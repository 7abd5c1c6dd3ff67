package main

import (
	"fmt"
	"strings"

	"github.com/nstrace/nstrace/tracer/detect"
	"github.com/nstrace/nstrace/tracer/event"
)

// addLost counts n more records lost, saturating, with one warning the
// first time the count saturates.
func (p *pipeline) addLost(n uint64) {
	var sat bool
	p.lost, sat = event.AddCount(p.lost, n)
	if sat && !p.lostSaturated {
		p.lostSaturated = true
		if p.warn != nil {
			fmt.Fprintf(p.warn, "nstrace: warning: more records lost than a 64-bit count holds: counting stops at %d\n", p.lost)
		}
	}
}

// summary is the closing line: what was shown and what was lost, the
// events a full disk kept out of the session file included.
func (p *pipeline) summary() string {
	total, sat := p.lost, p.lostSaturated
	n := p.unwritten()
	if n > 0 {
		var s bool
		total, s = event.AddCount(total, n)
		sat = sat || s
	}
	lost := fmt.Sprintf("%d lost", total)
	if sat {
		lost = "at least " + lost
	}
	var why []string
	if n > 0 {
		why = append(why, fmt.Sprintf("%d not written to the session file", n))
	}
	if p.atShutdown > 0 {
		why = append(why, fmt.Sprintf("%d at shutdown", p.atShutdown))
	}
	if len(why) > 0 {
		lost += " (" + strings.Join(why, ", ") + ")"
	}
	s := fmt.Sprintf("%d events", p.kept)
	if p.kept != p.seen {
		s += fmt.Sprintf(" (%d filtered out)", p.seen-p.kept)
	}
	if p.flooded != 0 {
		s += fmt.Sprintf(", %d past their share counted in flood records", p.flooded)
	}
	return s + ", " + lost
}

// alertSummary counts the alerts written, by severity, most severe first,
// and says which rules failed or were skipped (further lines, each with
// the "nstrace: " its caller puts before the first); "" for none.
func (p *pipeline) alertSummary() string {
	var total uint64
	var parts, lines []string
	for s := detect.Critical; s >= detect.Info; s-- {
		if n := p.alerts[s]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if total > 0 {
		lines = append(lines, fmt.Sprintf("%d alerts (%s)", total, strings.Join(parts, ", ")))
	}
	if p.detect != nil {
		lines = append(lines, p.detect.trouble.lines(p.detect.det)...)
	}
	return strings.Join(lines, "\nnstrace: ")
}
