package runtime

import (
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
)

// Enricher labels events with what a Watcher knows: the container the
// resolver found by its cgroup gets its runtime name, image and pod; a
// namespace a pod's containers share (tracer/internal/resolve names it by the pod
// UID) and a network namespace mounted as the pod's (cni-…) get the pod.
// It is for one goroutine, the pipeline's, and allocates only when it
// meets a container it has not labelled before.
type Enricher struct {
	w     *Watcher
	ctrs  map[string]labelled // by container id, or pod UID for a pod
	pods  map[*Pod]*event.Pod // the event form of each runtime Pod
	netns map[string]*event.Container
}

// labelled is a container as events carry it, and what it was made from:
// when the runtime's answer changes (a rename), it is made again.
type labelled struct {
	ctr  *event.Container
	from Identity
}

// maxLabelled bounds the Enricher's memory: past it, it starts afresh.
const maxLabelled = 8192

// NetNSDir is where containerd and cri-o mount a pod's network namespace;
// tracer/internal/resolve names such a namespace by its file name there (cni-…).
const NetNSDir = "/run/netns/"

// Enricher returns an Enricher over w's cache.
func (w *Watcher) Enricher() *Enricher {
	return &Enricher{w: w, ctrs: make(map[string]labelled), pods: make(map[*Pod]*event.Pod),
		netns: make(map[string]*event.Container)}
}

// Enrich labels ev: its process's container and each change's. Labels
// already there (a replay of what a live run labelled) are kept. It never
// waits: what the runtimes have not said yet is asked for in the
// background, and ev keeps the resolver's ids.
func (e *Enricher) Enrich(ev *event.Event) {
	ev.Container = e.Container(ev.Container)
	for i := range ev.Changes {
		c := &ev.Changes[i]
		c.Container = e.Container(c.Container)
		if c.Container == nil && c.Type == event.Net && strings.HasPrefix(c.Name, "cni-") {
			c.Container = e.podNetNS(c.Name)
		}
	}
}

// Container is c labelled by its runtime, or c as it is when the runtime
// has not said (or c is a unit or machine, or already labelled). The
// result is shared: treat it as read-only.
func (e *Enricher) Container(c *event.Container) *event.Container {
	if c == nil || c.Pod != nil || c.Image != "" {
		return c
	}
	var ident Identity
	var ok bool
	switch c.Runtime {
	case "systemd", "nspawn", "libvirt":
		return c
	case "kubernetes":
		ident, ok = e.w.PodByUID(c.ID)
		// The pod itself, not its sandbox: keep the resolver's id (the UID).
		ident.ID, ident.Sandbox = c.ID, true
	default:
		ident, ok = e.w.Lookup(c.ID)
	}
	if !ok {
		return c
	}
	if l, ok := e.ctrs[c.ID]; ok && l.from == ident {
		return l.ctr
	}
	if len(e.ctrs) >= maxLabelled {
		clear(e.ctrs)
		clear(e.pods)
		clear(e.netns)
	}
	out := &event.Container{ID: c.ID, Runtime: c.Runtime, Name: ident.Name, Image: ident.Image, Pod: e.pod(ident.Pod)}
	if ident.Runtime != "" && c.Runtime != "kubernetes" {
		out.Runtime = ident.Runtime
	}
	e.ctrs[c.ID] = labelled{ctr: out, from: ident}
	return out
}

// podNetNS is the pod whose network namespace the runtime mounted as
// NetNSDir/name, as a container: the pod by its UID.
func (e *Enricher) podNetNS(name string) *event.Container {
	if c, ok := e.netns[name]; ok {
		return c
	}
	sb, ok := e.w.PodByNetNS(NetNSDir + name)
	if !ok || sb.Pod == nil {
		return nil
	}
	c := &event.Container{ID: sb.Pod.UID, Runtime: "kubernetes", Pod: e.pod(sb.Pod)}
	e.netns[name] = c
	return c
}

// pod is p as events carry it, made once per runtime Pod.
func (e *Enricher) pod(p *Pod) *event.Pod {
	if p == nil {
		return nil
	}
	if ep, ok := e.pods[p]; ok {
		return ep
	}
	ep := &event.Pod{Name: p.Name, Namespace: p.Namespace, UID: p.UID, Labels: p.Labels}
	e.pods[p] = ep
	return ep
}

// Awaits reports whether a runtime is being asked about ev's container or
// a change's: a hold-back (tracer/internal/pipeline) may wait for its answer
// briefly.
func (e *Enricher) Awaits(ev *event.Event) bool {
	if e.pending(ev.Container) {
		return true
	}
	for i := range ev.Changes {
		if e.pending(ev.Changes[i].Container) {
			return true
		}
	}
	return false
}

func (e *Enricher) pending(c *event.Container) bool {
	if c == nil || c.Pod != nil || c.Image != "" || c.ID == "" {
		return false
	}
	switch c.Runtime {
	case "systemd", "nspawn", "libvirt", "kubernetes":
		return false
	}
	return e.w.Pending(c.ID)
}
