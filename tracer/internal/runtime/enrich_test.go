package runtime

import (
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// quietWatcher watches no endpoint: its tests fill the cache themselves.
func quietWatcher(t *testing.T) *Watcher {
	w := Start(Options{Endpoints: []Endpoint{}})
	t.Cleanup(func() { w.Close() })
	return w
}

func TestEnricherLabelsContainersPodsAndTheirNetNS(t *testing.T) {
	w := quietWatcher(t)
	const uid = "5b1e8a2c-0d4f-4c7e-9a61-3f2b7c9d8e10"
	pod := &Pod{Name: "web-7d9f", Namespace: "shop", UID: uid, Labels: map[string]string{"app": "web"},
		SandboxID: hexID('b'), NetNS: "/var/run/netns/cni-77285983-386d-cc07-f20e-094a9d3da44f", PausePID: 99}
	w.put("/c.sock", Identity{ID: hexID('b'), Runtime: "containerd", Pod: pod, Sandbox: true})
	w.put("/c.sock", Identity{ID: hexID('c'), Runtime: "containerd", Name: "nginx", Image: "docker.io/library/nginx:1.27", Pod: pod})
	w.put("/d.sock", Identity{ID: hexID('d'), Runtime: "docker", Name: "webfront", Image: "nstrace/busybox:test"})
	e := w.Enricher()

	nginx := &event.Container{ID: hexID('c'), Runtime: "containerd"}
	pause := &event.Container{ID: hexID('b'), Runtime: "containerd"}
	podNS := &event.Container{ID: uid, Runtime: "kubernetes"}
	unit := &event.Container{Runtime: "systemd", Name: "nginx.service"}
	unknown := &event.Container{ID: hexID('e'), Runtime: "docker"}
	ev := &event.Event{Kind: event.Setns, Container: nginx, Changes: []event.Change{
		{Type: event.Net, Action: event.Join, Name: "cni-77285983-386d-cc07-f20e-094a9d3da44f"},
		{Type: event.IPC, Action: event.Join, Container: podNS},
		{Type: event.Mnt, Action: event.Join, Container: pause},
		{Type: event.UTS, Action: event.Join, Container: unit},
		{Type: event.Cgroup, Action: event.Join, Container: unknown},
	}}
	e.Enrich(ev)
	want := []string{"pod shop/web-7d9f", "pod shop/web-7d9f", "pod shop/web-7d9f", "unit nginx.service", "ctr eeeeeeeeeeee…"}
	if got := ev.Container.Label(); got != "pod shop/web-7d9f/nginx" {
		t.Errorf("process: %q", got)
	}
	if c := ev.Container; c.Image != "docker.io/library/nginx:1.27" || c.Pod.UID != uid || c.Pod.Labels["app"] != "web" || c.ID != hexID('c') {
		t.Errorf("process: %+v, pod %+v", c, c.Pod)
	}
	for i, w := range want {
		if got := ev.Changes[i].Container.Label(); got != w {
			t.Errorf("change %d: %q, want %q", i, got, w)
		}
	}
	if c := ev.Changes[0].Container; c.ID != uid || c.Runtime != "kubernetes" {
		t.Errorf("cni netns: %+v", c)
	}
	if nginx.Pod != nil || nginx.Name != "" {
		t.Error("the resolver's container was changed")
	}
	if ev.Container.Pod != ev.Changes[1].Container.Pod {
		t.Error("one pod made twice")
	}

	d := &event.Event{Kind: event.Unshare, Container: &event.Container{ID: hexID('d'), Runtime: "docker"}}
	e.Enrich(d)
	if c := d.Container; c.Label() != "ctr webfront" || c.Image != "nstrace/busybox:test" || c.Pod != nil {
		t.Errorf("docker: %+v", c)
	}

	// Labelled once, an event costs no allocation.
	again := &event.Event{Kind: event.Setns, Changes: make([]event.Change, 2)}
	if n := testing.AllocsPerRun(100, func() {
		again.Container = nginx
		again.Changes[0] = event.Change{Type: event.Net, Name: "cni-77285983-386d-cc07-f20e-094a9d3da44f"}
		again.Changes[1] = event.Change{Type: event.IPC, Container: podNS}
		e.Enrich(again)
	}); n != 0 {
		t.Errorf("%v allocations per labelled event", n)
	}

	// A label already there (a replay) is kept.
	kept := &event.Container{ID: hexID('d'), Runtime: "docker", Name: "old", Image: "old:1"}
	if got := e.Container(kept); got != kept {
		t.Errorf("a labelled container was labelled again: %+v", got)
	}

	inv := &inventory.Inventory{Namespaces: []inventory.Namespace{
		{Type: event.Net, Names: []string{"cni-77285983-386d-cc07-f20e-094a9d3da44f"}},
		{Type: event.Mnt, Container: &event.Container{ID: hexID('d'), Runtime: "docker"}},
	}}
	w.LabelInventory(inv)
	if got := inv.Namespaces[0].Container.Label(); got != "pod shop/web-7d9f" {
		t.Errorf("inventory cni netns: %q", got)
	}
	if got := inv.Namespaces[1].Container.Label(); got != "ctr webfront" {
		t.Errorf("inventory container: %q", got)
	}
}

// An event whose container a runtime is being asked about awaits; one of
// a unit, or with no runtime connected, does not.
func TestEnricherAwaitsOnlyPendingQueries(t *testing.T) {
	w := quietWatcher(t)
	e := w.Enricher()
	ev := &event.Event{Container: &event.Container{ID: hexID('f'), Runtime: "docker"}}
	e.Enrich(ev) // no runtime connected: nothing is asked
	if e.Awaits(ev) {
		t.Error("awaits with no runtime connected")
	}
	w.mu.Lock()
	w.pending[hexID('f')] = struct{}{}
	w.mu.Unlock()
	if !e.Awaits(ev) {
		t.Error("does not await a pending query")
	}
	if e.Awaits(&event.Event{Container: &event.Container{Runtime: "systemd", Name: "x.service"}}) || e.Awaits(&event.Event{}) {
		t.Error("awaits a unit or no container")
	}
}

// BenchmarkEnrich: an event in a known pod's container that joins the
// pod's cni netns, labelled from the cache.
func BenchmarkEnrich(b *testing.B) {
	w := Start(Options{Endpoints: []Endpoint{}})
	defer w.Close()
	pod := &Pod{Name: "web-7d9f", Namespace: "shop", UID: "u1", SandboxID: hexID('b'), NetNS: "/var/run/netns/cni-1"}
	w.put("/c.sock", Identity{ID: hexID('c'), Runtime: "containerd", Name: "nginx", Image: "nginx:1.27", Pod: pod})
	e := w.Enricher()
	nginx := &event.Container{ID: hexID('c'), Runtime: "containerd"}
	ev := &event.Event{Kind: event.Setns, Changes: make([]event.Change, 1)}
	b.ReportAllocs()
	for b.Loop() {
		ev.Container = nginx
		ev.Changes[0] = event.Change{Type: event.Net, Name: "cni-1"}
		e.Enrich(ev)
	}
	if ev.Changes[0].Container == nil || ev.Container.Name != "nginx" {
		b.Fatal("not labelled")
	}
}
