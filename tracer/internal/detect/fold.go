package detect

import (
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

// Folding: the alerts of one rule in one container (or on the host, out of
// any) are counted per window instead of raised one by one, whichever
// processes trigger them: 200 unprivileged unshares from 200 pids are one
// story. The first trigger of a window raises its alert at once, so nobody
// waits to hear of an escape; the triggers after it are counted, and when
// the window closes one more alert says how many there were in all (Count)
// with the first trigger (Trigger, Pid, Comm, Time) and the last (Last).
// A trigger alone in its window raises nothing more. A window closes at
// the first event past it, when events pause (Due) and at the end of the
// stream (Close).
//
// The rule file sets the window per rule (`window: 30s`; 0 raises every
// trigger); WithRepeatWindow sets the default.

// defaultWindow is how long one rule's alerts in one container are folded.
const defaultWindow = 10 * time.Second

// maxWindows bounds the windows open at once; past it, all close early.
const maxWindows = 4096

type foldKey struct {
	rule      string
	container string // "" on the host
}

// foldWindow is one open window: its first alert as raised, and what
// followed.
type foldWindow struct {
	first Alert
	end   time.Time
	count uint64
	last  *event.Event
}

type folds struct {
	open      map[foldKey]*foldWindow
	nextClose time.Time // the earliest end of an open window; zero: none open
	// The stream's clock for Due: the last event's time, and, when live,
	// a wall time by which it was seen: the first Due after it (reading
	// the clock for every event would cost more than the rest of fold).
	// Time since then is counted on; a window closes at most one Due
	// later than by the moment the event was seen, never earlier.
	lastEvent, seenBy time.Time
	unseen            bool    // events came since the last Due: seenBy is due
	out               []Alert // the other of fold's two buffers
	early             []Alert // closing alerts of windows closed before their time
	folding           int     // open windows that folded a trigger: each owes a closing alert
}

// WithWallClock tells the detector that events come live, stamped with the
// wall clock: Due then counts time on past the last event.
func WithWallClock() Option { return func(o *options) { o.wallClock = true } }

// WithoutFolding raises every alert at once, each on its own: for tests
// of what the rules raise.
func WithoutFolding() Option { return func(o *options) { o.noFold = true } }

// foldingWindow is how long rule's alerts fold; 0: not at all.
func (d *Detector) foldingWindow(rule string) time.Duration {
	if d.o.noFold {
		return 0
	}
	if w, ok := d.rules.windows[rule]; ok {
		return w
	}
	if d.o.repeat > 0 {
		return d.o.repeat
	}
	return defaultWindow
}

// fold passes d.alerts, just raised by an event at now, through the
// windows: the first of a window stays, the rest are counted and dropped.
// Before them come the closing alerts of windows that ended by now.
func (d *Detector) fold(now time.Time) {
	d.f.lastEvent, d.f.unseen = now, true
	due := !d.f.nextClose.IsZero() && !now.Before(d.f.nextClose)
	if len(d.alerts) == 0 && !due {
		return
	}
	out := d.f.out[:0]
	if due {
		out = d.closeInto(out, now, false)
	}
	for i := range d.alerts {
		if !d.foldOne(&d.alerts[i]) {
			out = append(out, d.alerts[i])
		}
	}
	out = append(out, d.f.early...)
	d.f.early = d.f.early[:0]
	// The two buffers swap: what is returned now is reused two calls on.
	d.alerts, d.f.out = out, d.alerts
}

// foldOne counts a into its window, reporting whether it is folded away;
// an alert that opens a window stays and is remembered.
func (d *Detector) foldOne(a *Alert) bool {
	w := d.foldingWindow(a.Rule)
	if w <= 0 {
		return false
	}
	k := foldKey{rule: a.Rule}
	if a.Container != nil {
		k.container = a.Container.ID
	}
	if fw := d.f.open[k]; fw != nil && a.Time.Before(fw.end) {
		fw.count++
		if fw.count == 2 {
			d.f.folding++ // it will close with an alert of its own
		}
		fw.last = a.Trigger
		return true
	}
	if d.f.open == nil {
		d.f.open = make(map[foldKey]*foldWindow)
	}
	if fw := d.f.open[k]; fw != nil && fw.count > 1 {
		// Over but not closed yet (events out of order): close it first.
		d.f.early = append(d.f.early, fw.closing())
		d.f.folding--
	}
	if len(d.f.open) >= maxWindows {
		d.f.early = d.closeInto(nil, time.Time{}, true) // not into early: closeInto appends early itself
	}
	fw := &foldWindow{first: *a, end: a.Time.Add(w), count: 1}
	d.f.open[k] = fw
	if d.f.nextClose.IsZero() || fw.end.Before(d.f.nextClose) {
		d.f.nextClose = fw.end
	}
	return false
}

// closeInto ends the windows over by now (all of them with every),
// appending to dst a closing alert for each that folded anything, and
// those closed early since the last call.
func (d *Detector) closeInto(dst []Alert, now time.Time, every bool) []Alert {
	dst = append(dst, d.f.early...)
	d.f.early = d.f.early[:0]
	d.f.nextClose = time.Time{}
	from := len(dst)
	for k, fw := range d.f.open {
		if !every && now.Before(fw.end) {
			if d.f.nextClose.IsZero() || fw.end.Before(d.f.nextClose) {
				d.f.nextClose = fw.end
			}
			continue
		}
		delete(d.f.open, k)
		if fw.count > 1 {
			dst = append(dst, fw.closing())
			d.f.folding--
		}
	}
	// In the order the windows opened, not the map's.
	slices.SortFunc(dst[from:], func(a, b Alert) int { return a.Time.Compare(b.Time) })
	return dst
}

// closing is the alert that ends a window: the first alert, with the count
// and the last trigger, its message saying so.
func (fw *foldWindow) closing() Alert {
	a := fw.first
	a.Count, a.Last = fw.count, fw.last
	b := make([]byte, 0, len(a.Message)+96)
	b = append(b, a.Message...)
	b = append(b, "; "...)
	b = strconv.AppendUint(b, fw.count, 10)
	b = append(b, " times in all"...)
	if l := fw.last; l != nil {
		b = append(b, ", the last by "...)
		b = appendWho(b, l)
		b = append(b, " at "...)
		b = encode.AppendTimeOfDay(b, l.Time)
	}
	a.Message = string(b)
	return a
}

// Due returns the closing alerts of the windows over by now, the stream's
// clock: the last event's time, plus, live, the wall time since the first
// Due after it (folds.seenBy). The slice is reused by the next call. For
// the pipeline, when events pause.
func (d *Detector) Due() []Alert {
	if len(d.running) > 0 {
		// Raised at start-up, on no event (rules_shares.go).
		d.alerts = append(d.alerts[:0], d.running...)
		d.running = nil
		return d.alerts
	}
	if d.f.nextClose.IsZero() && len(d.f.early) == 0 {
		return nil
	}
	now := d.f.lastEvent
	if d.o.wallClock {
		wall := time.Now()
		if d.f.unseen {
			d.f.seenBy, d.f.unseen = wall, false
		}
		if !d.f.seenBy.IsZero() {
			now = now.Add(wall.Sub(d.f.seenBy))
		}
	}
	if now.Before(d.f.nextClose) && len(d.f.early) == 0 {
		return nil
	}
	d.alerts = d.closeInto(d.alerts[:0], now, false)
	return d.alerts
}

// Held is how many alerts the detector holds for later: the closing
// alerts that open windows owe, and those closed early or raised at
// start-up that were not handed out yet. A stop that cannot wait for the
// stream to end counts them as not written.
func (d *Detector) Held() int { return d.f.folding + len(d.f.early) + len(d.running) }

// Close returns the closing alerts of every open window: the stream ended.
func (d *Detector) Close() []Alert {
	d.alerts = d.closeInto(append(d.alerts[:0], d.running...), time.Time{}, true)
	d.running = nil
	return d.alerts
}

// window reads a rule's `window: 30s`, how long its alerts fold (0: not).
func (p *ruleParser) window(v *yaml.Node, rule string) error {
	d, err := time.ParseDuration(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || d < 0 {
		return p.errorf(v, rule, "window %q: want a duration such as 30s (0: no folding)", v.Value)
	}
	if p.rules.windows == nil {
		p.rules.windows = make(map[string]time.Duration)
	}
	p.rules.windows[rule] = d
	return nil
}
