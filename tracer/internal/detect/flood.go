package detect

import (
	"strconv"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// RuleFlood is the alert raised by a flood record: a source whose events
// went past its share and were counted instead of shown.
const RuleFlood = "flood"

// defaultFloodRepeat is how long one source's floods raise one alert.
const defaultFloodRepeat = 60 * time.Second

// maxFloodSources bounds the table of recent floods.
const maxFloodSources = 4096

// floodSource is who flooded: the kernel's accounting keys.
type floodSource struct {
	uid    uint32
	cgroup uint64
}

type floodSeen struct {
	last       time.Time
	suppressed uint64 // flood records since the last alert
}

// checkFlood raises a warning for a flood record, once per source (uid and
// cgroup) per window; the records in between are counted into the next.
func (d *Detector) checkFlood(ev *event.Event) {
	if d.floods == nil {
		d.floods = make(map[floodSource]*floodSeen)
	}
	window := d.window(defaultFloodRepeat)
	src := floodSource{ev.UID, ev.CgroupID}
	st := d.floods[src]
	if st != nil && ev.Time.Sub(st.last) < window && !ev.Time.Before(st.last) {
		st.suppressed++
		return
	}
	if st == nil {
		if len(d.floods) >= maxFloodSources {
			for k, v := range d.floods {
				if ev.Time.Sub(v.last) >= window {
					delete(d.floods, k)
				}
			}
			if len(d.floods) >= maxFloodSources {
				clear(d.floods)
			}
		}
		st = &floodSeen{}
		d.floods[src] = st
	}
	suppressed := st.suppressed
	st.last, st.suppressed = ev.Time, 0
	b := make([]byte, 0, 160)
	b = append(b, "uid "...)
	b = strconv.AppendUint(b, uint64(ev.UID), 10)
	if ev.CgroupID != 0 {
		b = append(b, " in cgroup "...)
		b = strconv.AppendUint(b, ev.CgroupID, 10)
	}
	b = append(b, " (\""...)
	b = append(b, ev.Comm...)
	b = append(b, "\") flooded: "...)
	b = strconv.AppendUint(b, ev.Count, 10)
	b = append(b, ' ')
	b = append(b, ev.Counted.String()...)
	if ev.Errno != 0 {
		b = append(b, ' ')
		b = append(b, event.ErrnoName(ev.Errno)...)
	}
	b = append(b, " events past its share were counted, not shown"...)
	a := d.newAlert(ev, RuleFlood, Warning, string(b), nil)
	a.Suppressed = suppressed
}
