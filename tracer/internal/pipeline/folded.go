package pipeline

import "github.com/nstrace/nstrace/tracer/internal/detect"

// The detector folds one rule's alerts in one container per window
// (detect's fold.go). A window's closing alert is raised by no event: it
// goes out when the window is over, at the next event, when events pause
// (Flush) or at the end (Finish). It passes the filter when its first
// trigger does, as the alert that opened the window did.

// writeClosing writes the closing alerts the detector has for now, or all
// of them at the end.
func (p *Pipeline) writeClosing(end bool) error {
	if p.det == nil {
		return nil
	}
	var as []detect.Alert
	if end {
		as = p.det.Close()
	} else {
		as = p.det.Due()
	}
	if len(as) == 0 {
		return nil
	}
	if p.observe != nil {
		for i := range as {
			p.observe.Alert(&as[i])
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrTakenOver
	}
	for i := range as {
		if !p.keepClosing(&as[i]) {
			continue
		}
		if err := p.writeAlert(&as[i]); err != nil {
			return err
		}
	}
	p.noteHeld()
	return nil
}

// carried tells an alert that no event of its own goes with: a window's
// closing alert, or one raised at start-up.
func (p *Pipeline) carried(a *detect.Alert) bool { return a.Count != 0 || a.Trigger == nil }

// noteHeld records, after a write, how many alerts the detector still
// holds: what a stop that takes over reports as not written. p.mu is
// held, by the goroutine that runs the detector.
func (p *Pipeline) noteHeld() {
	if p.det != nil {
		p.held = p.det.Held()
	}
}

// Held is how many alerts the detector held at the last write: after
// TakeOver, those that will never be written.
func (p *Pipeline) Held() int { return p.held }

// keepClosing tells whether the filter keeps a closing alert's first
// trigger: on a copy, as the filter may trim an event's changes.
func (p *Pipeline) keepClosing(a *detect.Alert) bool {
	return p.filter == nil || a.Trigger == nil || p.filter.Keep(a.Trigger.Clone())
}
