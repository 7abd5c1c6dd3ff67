package runtime

import (
	"context"
	"os"
	"strings"
	"time"
)

// runKey makes /var/run/x and /run/x one key: /var/run is a link to /run
// on current systems, and runtimes and users write either.
func runKey(path string) string {
	if rest, ok := strings.CutPrefix(path, "/var/run/"); ok {
		return "/run/" + rest
	}
	return path
}

// ask queues a query for id unless one is pending, no runtime is
// connected, or the runtimes lately said they do not know it.
func (w *Watcher) ask(id string) {
	if w.connected.Load() == 0 {
		return // no runtime: a miss costs no lock
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.sources) == 0 {
		return
	}
	if _, ok := w.pending[id]; ok {
		return
	}
	if t, ok := w.unknown[id]; ok && time.Since(t) < unknownTTL {
		return
	}
	select {
	case w.queue <- id:
		w.pending[id] = struct{}{}
	default:
		w.dropped.Add(1)
	}
}

// put records what runtime at endpoint from says about a container.
func (w *Watcher) put(from string, id Identity) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids[id.ID] = entry{Identity: id, from: from}
	delete(w.unknown, id.ID)
	// A container's answer names its pod's sandbox too: the pod's network
	// namespace is known as soon as one of its containers is.
	if p := id.Pod; p != nil {
		sb := id
		if !id.Sandbox {
			sb = Identity{ID: p.SandboxID, Runtime: id.Runtime, Pod: p, Sandbox: true}
		}
		if p.NetNS != "" {
			w.netns[runKey(p.NetNS)] = sb
		}
		if p.UID != "" {
			w.podUIDs[p.UID] = sb
		}
	}
}

// gone marks a container the runtime removed; it is forgotten after Retain.
func (w *Watcher) gone(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.ids[id]; ok && e.gone.IsZero() {
		e.gone = time.Now()
		w.ids[id] = e
	}
}

// goneExcept marks gone the containers from endpoint that are not in live.
func (w *Watcher) goneExcept(from string, live map[string]bool) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settled[runKey(from)] = true // a whole list is in
	for id, e := range w.ids {
		if e.from == from && e.gone.IsZero() && !live[id] {
			e.gone = now
			w.ids[id] = e
		}
	}
}

// sweep forgets containers gone for longer than Retain.
func (w *Watcher) sweep(ctx context.Context) {
	defer w.wg.Done()
	tick := time.NewTicker(w.opts.Retain/4 + time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cutoff := time.Now().Add(-w.opts.Retain)
		w.mu.Lock()
		for id, e := range w.ids {
			if !e.gone.IsZero() && e.gone.Before(cutoff) {
				delete(w.ids, id)
				if e.Sandbox && e.Pod != nil {
					if w.netns[runKey(e.Pod.NetNS)].ID == id {
						delete(w.netns, runKey(e.Pod.NetNS))
					}
					if w.podUIDs[e.Pod.UID].ID == id {
						delete(w.podUIDs, e.Pod.UID)
					}
				}
			}
		}
		for id, t := range w.unknown {
			if time.Since(t) >= unknownTTL {
				delete(w.unknown, id)
			}
		}
		w.mu.Unlock()
	}
}

// Pending reports whether a runtime is being asked about id now.
func (w *Watcher) Pending(id string) bool {
	w.mu.RLock()
	_, ok := w.pending[id]
	w.mu.RUnlock()
	return ok
}

// settle notes that endpoint path answered a list or failed to.
func (w *Watcher) settle(path string) {
	w.mu.Lock()
	w.settled[runKey(path)] = true
	w.mu.Unlock()
}

// WaitListed waits until every endpoint whose socket exists has listed its
// containers once, or failed to connect, or until deadline: for a one-shot
// look (nstrace ls) rather than a trace, which never waits.
func (w *Watcher) WaitListed(deadline time.Time) {
	for time.Now().Before(deadline) {
		done := true
		w.mu.RLock()
		for _, ep := range w.opts.Endpoints {
			if !w.settled[runKey(ep.Path)] {
				if _, err := os.Stat(ep.Path); err == nil {
					done = false
				}
			}
		}
		w.mu.RUnlock()
		if done {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
