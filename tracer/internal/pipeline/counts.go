package pipeline

import (
	"fmt"
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/saturate"
)

// addLost counts n more records lost, saturating, with one warning the
// first time the count saturates.
func (p *Pipeline) addLost(n uint64) {
	var sat bool
	p.lost, sat = saturate.AddCount(p.lost, n)
	if sat && !p.lostSaturated {
		p.lostSaturated = true
		if p.warn != nil {
			fmt.Fprintf(p.warn, "nstrace: warning: more records lost than a 64-bit count holds: counting stops at %d\n", p.lost)
		}
	}
}

// Summary is the closing line: what was shown and what was lost, the
// events a full disk kept out of the session file included.
func (p *Pipeline) Summary() string {
	total, sat := p.lost, p.lostSaturated
	n := p.Unwritten()
	if n > 0 {
		var s bool
		total, s = saturate.AddCount(total, n)
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
	if filtered := p.seen - p.kept - p.pastLimit; filtered != 0 {
		s += fmt.Sprintf(" (%d filtered out)", filtered)
	}
	if p.pastLimit != 0 {
		s += fmt.Sprintf(", %d more while stopping at the count, not shown", p.pastLimit)
	}
	if p.flooded != 0 {
		s += fmt.Sprintf(", %d past their share counted in flood records", p.flooded)
	}
	return s + ", " + lost
}

// AlertSummary counts the alerts written, by severity, most severe first:
// "3 alerts (1 critical, 2 high)"; "" for none.
func (p *Pipeline) AlertSummary() string {
	var total uint64
	var parts []string
	for s := detect.Critical; s >= detect.Info; s-- {
		if n := p.alerts[s]; n > 0 {
			total += n
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	s := ""
	if total != 0 {
		s = fmt.Sprintf("%d alerts (%s)", total, strings.Join(parts, ", "))
	}
	if p.closed && p.held > 0 {
		// Taken over: the detector's goroutine writes nothing more.
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d held by alert folding not written (stopped before they closed)", p.held)
	}
	return s
}

// Counts are what a pipeline counted.
type Counts struct {
	Seen   uint64 // events, loss markers and flood records not counted
	Kept   uint64 // those the filter kept
	Alerts uint64 // alerts written
}

// Counts says what the pipeline counted so far. Call it from the source's
// goroutine, or once the source is done.
func (p *Pipeline) Counts() Counts {
	c := Counts{Seen: p.seen, Kept: p.kept}
	for _, n := range p.alerts {
		c.Alerts += n
	}
	return c
}

// fromRing reports whether ev came from the ring, one record each, rather
// than being made by the tracer (a loss marker): what the count of records
// handed over that tracer.Tracer.Abandon returns counts.
func fromRing(ev *event.Event) bool { return ev.Kind != event.Lost && ev.Kind != event.Flood }
