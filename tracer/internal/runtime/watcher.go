package runtime

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Watcher. The zero value watches DefaultEndpoints.
type Options struct {
	// Endpoints to watch; nil means DefaultEndpoints. Sockets that do not
	// exist are looked for again now and then.
	Endpoints []Endpoint
	// Timeout bounds each request to a runtime (default 2 s).
	Timeout time.Duration
	// Refresh is how often a CRI runtime without an event stream is
	// listed (default 1 s).
	Refresh time.Duration
	// Retain is how long a container that has gone is still answered
	// for, so late events about it are named (default 5 min).
	Retain time.Duration
	// Logf, if set, is told when a runtime connects or is lost.
	Logf func(format string, args ...any)
}

// Stats count what a Watcher did.
type Stats struct {
	Connected int    // runtimes answering now
	Known     int    // containers in the cache
	Queried   uint64 // misses asked of the runtimes
	Dropped   uint64 // misses not asked because the queue was full
}

// source is one connected runtime.
type source interface {
	runtime() string
	// follow lists the runtime's containers into the watcher and keeps
	// them current until ctx ends or the runtime fails.
	follow(ctx context.Context) error
	// query asks for one container; false if the runtime does not know it.
	query(ctx context.Context, id string) (Identity, bool, error)
	close()
}

const (
	queueSize  = 256
	unknownTTL = 10 * time.Second // a miss no runtime knew is not asked again before
	stallFor   = 5 * time.Second  // a runtime that timed out is not queried for misses before
)

// Watcher keeps the identities runtimes give their containers. Its methods
// may be called from any goroutine.
type Watcher struct {
	opts   Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queue  chan string

	queried, dropped atomic.Uint64
	connected        atomic.Int32 // len(sources), read without the lock

	mu      sync.RWMutex
	ids     map[string]entry
	netns   map[string]Identity // pod sandboxes by network namespace path
	podUIDs map[string]Identity // pod sandboxes by pod UID
	pending map[string]struct{}
	unknown map[string]time.Time
	sources map[string]*conn // by endpoint path
	// settled: endpoints that listed their containers once, or failed to
	// connect once (WaitListed).
	settled map[string]bool
}

type entry struct {
	Identity
	from string    // endpoint path
	gone time.Time // when the runtime said it was removed; zero while it exists
}

// conn is a connected source and whether it answers queries.
type conn struct {
	path         string
	src          source
	stalledUntil atomic.Int64 // unix nanoseconds
}

// Start watches the runtimes' endpoints in the background until Close.
func Start(opts Options) *Watcher {
	if opts.Endpoints == nil {
		opts.Endpoints = DefaultEndpoints()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	if opts.Retain <= 0 {
		opts.Retain = 5 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{
		opts:    opts,
		cancel:  cancel,
		queue:   make(chan string, queueSize),
		ids:     make(map[string]entry),
		netns:   make(map[string]Identity),
		podUIDs: make(map[string]Identity),
		pending: make(map[string]struct{}),
		unknown: make(map[string]time.Time),
		sources: make(map[string]*conn),
		settled: make(map[string]bool),
	}
	seen := make(map[string]bool)
	for _, ep := range opts.Endpoints {
		if seen[runKey(ep.Path)] {
			continue
		}
		seen[runKey(ep.Path)] = true
		w.wg.Add(1)
		go w.watch(ctx, ep)
	}
	w.wg.Add(2)
	go w.answer(ctx)
	go w.sweep(ctx)
	return w
}

// Close stops watching and waits for the background work to end.
func (w *Watcher) Close() error {
	w.cancel()
	w.wg.Wait()
	return nil
}

// Lookup returns what the runtimes said about container id (a full id, as
// in its cgroup path), without waiting. On a miss the runtimes are asked
// in the background and a later Lookup may find it. A pod sandbox's id
// gives the sandbox: Sandbox set, Pod the pod, no Name.
func (w *Watcher) Lookup(id string) (Identity, bool) {
	if id == "" {
		return Identity{}, false
	}
	w.mu.RLock()
	e, ok := w.ids[id]
	w.mu.RUnlock()
	if ok {
		return e.Identity, true
	}
	w.ask(id)
	return Identity{}, false
}

// PodByNetNS returns the sandbox of the pod whose network namespace the
// runtime mounted at path (e.g. /var/run/netns/cni-…), without waiting.
func (w *Watcher) PodByNetNS(path string) (Identity, bool) {
	w.mu.RLock()
	id, ok := w.netns[runKey(path)]
	w.mu.RUnlock()
	return id, ok
}

// PodByUID returns the sandbox of the pod with Kubernetes UID uid, without
// waiting: a namespace the containers of one pod share is known by the
// pod's UID in its cgroup path, not by a container id.
func (w *Watcher) PodByUID(uid string) (Identity, bool) {
	w.mu.RLock()
	id, ok := w.podUIDs[uid]
	w.mu.RUnlock()
	return id, ok
}

// Stats says what the watcher did so far.
func (w *Watcher) Stats() Stats {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return Stats{Connected: len(w.sources), Known: len(w.ids), Queried: w.queried.Load(), Dropped: w.dropped.Load()}
}

// answer asks the connected runtimes about queued misses, one at a time.
// A runtime whose answer timed out is skipped for a while, so a hung one
// delays the queue by one timeout, not one per miss.
func (w *Watcher) answer(ctx context.Context) {
	defer w.wg.Done()
	for {
		var id string
		select {
		case <-ctx.Done():
			return
		case id = <-w.queue:
		}
		w.queried.Add(1)
		w.mu.RLock()
		conns := make([]*conn, 0, len(w.sources))
		for _, c := range w.sources {
			conns = append(conns, c)
		}
		w.mu.RUnlock()
		found := false
		for _, c := range conns {
			if time.Now().UnixNano() < c.stalledUntil.Load() {
				continue
			}
			qctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
			ident, ok, err := c.src.query(qctx, id)
			// Read before cancel: gRPC's errors do not wrap the context's.
			timedOut := err != nil && errors.Is(qctx.Err(), context.DeadlineExceeded)
			cancel()
			if timedOut {
				c.stalledUntil.Store(time.Now().Add(stallFor).UnixNano())
			}
			if ok {
				w.put(c.path, ident)
				found = true
				break
			}
		}
		w.mu.Lock()
		delete(w.pending, id)
		if !found {
			w.unknown[id] = time.Now()
		}
		w.mu.Unlock()
	}
}

// watch connects to one endpoint, follows it while it answers, and
// connects again after a failure, waiting longer each time (up to 30 s).
// An absent socket costs a stat per wait.
func (w *Watcher) watch(ctx context.Context, ep Endpoint) {
	defer w.wg.Done()
	const minWait, maxWait = 500 * time.Millisecond, 30 * time.Second
	wait := minWait
	for {
		if _, err := os.Stat(ep.Path); err == nil {
			src, err := w.connect(ctx, ep)
			if err == nil {
				wait = minWait
				c := &conn{path: ep.Path, src: src}
				w.mu.Lock()
				w.sources[ep.Path] = c
				w.connected.Add(1)
				w.mu.Unlock()
				w.logf("runtime %s (%s) connected", src.runtime(), ep)
				err = src.follow(ctx)
				w.mu.Lock()
				delete(w.sources, ep.Path)
				w.connected.Add(-1)
				w.mu.Unlock()
				src.close()
				if ctx.Err() != nil {
					return
				}
				w.logf("runtime %s (%s) lost: %v", src.runtime(), ep, err)
			} else if ctx.Err() == nil {
				w.logf("runtime %s: %v", ep, err)
			}
			w.settle(ep.Path)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, maxWait)
	}
}

// connect finds out what serves an endpoint and whether it answers.
func (w *Watcher) connect(ctx context.Context, ep Endpoint) (source, error) {
	var errs []error
	if ep.API == APIDocker || ep.API == APIAuto {
		src, err := dialDocker(ctx, w, ep.Path)
		if err == nil {
			return src, nil
		}
		errs = append(errs, err)
	}
	if ep.API == APICRI || ep.API == APIAuto {
		src, err := dialCRI(ctx, w, ep.Path)
		if err == nil {
			return src, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (w *Watcher) logf(format string, args ...any) {
	if w.opts.Logf != nil {
		w.opts.Logf(format, args...)
	}
}
