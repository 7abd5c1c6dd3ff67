package report

import (
	"slices"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/render"
)

// Alert adds an alert that a detection rule raised about trigger. The
// trigger may be an event written shortly before, or the next one to be
// written: a detector sees events before the filter and the Builder do.
// An alert whose trigger the filter drops is left out, so that a report
// focused on one container or one minute shows that container's or
// minute's alerts. Without a trigger, an alert is always kept.
func (b *Builder) Alert(rule, severity, message string, trigger *event.Event) {
	a := Alert{Rule: render.Sanitize(rule), Severity: render.Sanitize(severity),
		Message: render.Sanitize(message), Event: -1}
	if trigger == nil {
		b.addAlert(a)
		return
	}
	a.Time = trigger.Time
	k := keyOf(trigger)
	if a.Event = b.find(k); a.Event >= 0 || k == b.banded {
		b.addAlert(a) // on an event folded into bands: listed, with no event to open
		return
	}
	b.pending = append(b.pending, pendingAlert{alert: a, trigger: k})
}

func (b *Builder) addAlert(a Alert) {
	if len(b.r.Alerts) >= b.opts.MaxAlerts {
		b.unlisted = append(b.unlisted, Alert{Rule: a.Rule, Severity: a.Severity}) // counted by rule only
		b.compactUnlisted()
		return
	}
	b.r.Lanes[b.specialLane(AlertLane)].Marks.Alert++
	b.r.Alerts = append(b.r.Alerts, a)
}

// compactUnlisted keeps one entry per rule and severity among the alerts
// past the limit, once they are many: what they are counted by.
func (b *Builder) compactUnlisted() {
	if len(b.unlisted) < 1024 {
		return
	}
	b.unlistedN = mergeCounts(b.unlistedN, alertsByRule(b.unlisted))
	b.unlisted = b.unlisted[:0]
}

// mergeCounts adds the counts of add to those of to, by name and severity.
func mergeCounts(to, add []Counts) []Counts {
	for _, c := range add {
		i := slices.IndexFunc(to, func(x Counts) bool { return x.Name == c.Name && x.Severity == c.Severity })
		if i < 0 {
			to = append(to, c)
			continue
		}
		to[i].N += c.N
	}
	return to
}

// eventKey tells an event among those written close to it.
type eventKey struct {
	t        int64
	pid, tid uint32
	kind     event.Kind
}

func keyOf(ev *event.Event) eventKey {
	return eventKey{t: ev.Time.UnixNano(), pid: ev.Pid, tid: ev.Tid, kind: ev.Kind}
}

type pendingAlert struct {
	alert   Alert
	trigger eventKey
}

// find returns the index of a recent event, or -1.
func (b *Builder) find(k eventKey) int {
	for i := len(b.r.events) - 1; i >= 0 && i >= len(b.r.events)-256; i-- {
		e := &b.r.events[i]
		if e.t == k.t && e.pid == k.pid && e.tid == k.tid && e.kind == k.kind {
			return i
		}
	}
	return -1
}

// settle keeps the alerts waiting for the event just written (index i,
// or -1 when folded into bands), if it is their trigger; a trigger that is
// not the next event kept was filtered out.
func (b *Builder) settle(ev *event.Event, i int) {
	k := keyOf(ev)
	for _, p := range b.pending {
		if p.trigger == k {
			p.alert.Event = i
			b.addAlert(p.alert)
		}
	}
	b.pending = b.pending[:0]
}
