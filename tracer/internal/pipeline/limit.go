package pipeline

// A count limit (trace -c N) ends the stream after N events kept: the
// source is told once the Nth is written, and what it still delivers while
// stopping (the ring's drain) is counted past the limit, not shown. Loss
// markers and flood counts are always shown: they say what is missing.

// SetLimit makes the pipeline keep at most n events (0: no limit) and
// call reached, once, after writing the nth. Call it before the first
// event.
func (p *Pipeline) SetLimit(n uint64, reached func()) {
	p.limit, p.reached = n, reached
}

// underLimit tells whether the limit lets ev through, counting the events
// it turns away. p.mu is held.
func (p *Pipeline) underLimit(isRecord bool) bool {
	if p.limit == 0 || !isRecord {
		return true
	}
	if p.kept >= p.limit {
		p.pastLimit++
		return false
	}
	return true
}

// checkLimit calls reached once the limit is met. p.mu is held.
func (p *Pipeline) checkLimit() {
	if p.limit != 0 && p.kept >= p.limit && p.reached != nil {
		reached := p.reached
		p.reached = nil
		reached()
	}
}
