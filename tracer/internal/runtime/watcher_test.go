package runtime

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeDocker serves the four Engine API requests a Watcher makes, over a
// unix socket: one listed container, one known only to inspect, and an
// event stream the test writes to.
type fakeDocker struct {
	events  chan string // JSON messages to stream
	inspect map[string]string
}

func (f *fakeDocker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/version":
		fmt.Fprint(rw, `{"Components":[{"Name":"Engine"}]}`)
	case r.URL.Path == "/containers/json":
		fmt.Fprint(rw, `[{"Id":"`+hexID('a')+`","Names":["/listed"],"Image":"web:1"}]`)
	case r.URL.Path == "/events":
		rw.WriteHeader(http.StatusOK)
		rw.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case m := <-f.events:
				fmt.Fprintln(rw, m)
				rw.(http.Flusher).Flush()
			}
		}
	case strings.HasPrefix(r.URL.Path, "/containers/") && strings.HasSuffix(r.URL.Path, "/json"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/containers/"), "/json")
		body, ok := f.inspect[id]
		if !ok {
			http.NotFound(rw, r)
			return
		}
		fmt.Fprint(rw, body)
	default:
		http.NotFound(rw, r)
	}
}

func hexID(c byte) string { return strings.Repeat(string(c), 64) }

func serveFake(t *testing.T, f *fakeDocker) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f}
	go func() { _ = srv.Serve(l) }() // ends with Close
	t.Cleanup(func() { srv.Close() })
	return sock
}

func waitFor(t *testing.T, w *Watcher, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s (%+v)", what, w.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The three ways a container becomes known (list, event, query on a
// miss), a prefix that is not the container, and a removed container
// answered for Retain, then forgotten.
func TestWatcherFakeDocker(t *testing.T) {
	inspected := hexID('b')
	f := &fakeDocker{events: make(chan string), inspect: map[string]string{
		inspected: `{"Id":"` + inspected + `","Name":"/asked","Config":{"Image":"db:2"}}`,
		// The daemon resolves a prefix to the container it starts.
		hexID('c'): `{"Id":"` + hexID('c') + `0","Name":"/other","Config":{"Image":"x"}}`,
	}}
	w := Start(Options{Endpoints: []Endpoint{{APIAuto, serveFake(t, f)}}, Retain: 100 * time.Millisecond, Logf: t.Logf})
	defer w.Close()

	waitFor(t, w, "listed container", func() bool { _, ok := w.Lookup(hexID('a')); return ok })
	if got, _ := w.Lookup(hexID('a')); got != (Identity{ID: hexID('a'), Name: "listed", Image: "web:1", Runtime: "docker"}) {
		t.Errorf("listed: %+v", got)
	}

	f.events <- `{"Type":"container","Action":"create","Actor":{"ID":"` + hexID('d') + `","Attributes":{"name":"evented","image":"cache:3"}}}`
	waitFor(t, w, "container from an event", func() bool { _, ok := w.Lookup(hexID('d')); return ok })
	if got, _ := w.Lookup(hexID('d')); got != (Identity{ID: hexID('d'), Name: "evented", Image: "cache:3", Runtime: "docker"}) {
		t.Errorf("evented: %+v", got)
	}

	if _, ok := w.Lookup(inspected); ok {
		t.Fatal("a container neither listed nor in an event was known before it was asked for")
	}
	waitFor(t, w, "container asked for", func() bool { _, ok := w.Lookup(inspected); return ok })
	if got, _ := w.Lookup(inspected); got != (Identity{ID: inspected, Name: "asked", Image: "db:2", Runtime: "docker"}) {
		t.Errorf("asked: %+v", got)
	}

	// Earlier lookups may have raced the list and the event into queries.
	queried := w.Stats().Queried
	w.Lookup(hexID('c'))
	waitFor(t, w, "prefix query answered", func() bool { return w.Stats().Queried == queried+1 })
	waitFor(t, w, "prefix query done", func() bool {
		w.mu.RLock()
		defer w.mu.RUnlock()
		return len(w.pending) == 0
	})
	if got, ok := w.Lookup(hexID('c')); ok {
		t.Errorf("an id the daemon took for a prefix of another: %+v", got)
	}
	if st := w.Stats(); st.Queried != queried+1 {
		t.Errorf("a miss the runtime did not know was asked again at once: %+v", st)
	}

	f.events <- `{"Type":"container","Action":"destroy","Actor":{"ID":"` + hexID('d') + `","Attributes":{"name":"evented"}}}`
	waitFor(t, w, "destroyed container marked", func() bool {
		w.mu.RLock()
		defer w.mu.RUnlock()
		return !w.ids[hexID('d')].gone.IsZero()
	})
	if got, ok := w.Lookup(hexID('d')); !ok || got.Name != "evented" {
		t.Errorf("a container just removed is no longer answered for: %+v, %v", got, ok)
	}
	// The sweep runs every Retain/4 + 1 s.
	waitFor(t, w, "removed container forgotten", func() bool {
		w.mu.RLock()
		defer w.mu.RUnlock()
		_, ok := w.ids[hexID('d')]
		return !ok
	})
	if st := w.Stats(); st.Known != 2 || st.Connected != 1 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want 2 known (listed, asked), 1 connected", st)
	}
}

func TestDockerEventJSON(t *testing.T) {
	// A message as docker 20.10 sends it.
	msg := `{"status":"create","id":"` + hexID('e') + `","from":"nstrace/busybox:test","Type":"container","Action":"create","Actor":{"ID":"` + hexID('e') + `","Attributes":{"image":"nstrace/busybox:test","name":"webfront"}},"scope":"local","time":1795988990,"timeNano":1795988990409918717}`
	var ev dockerEvent
	if err := json.Unmarshal([]byte(msg), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "container" || ev.Action != "create" || ev.Actor.ID != hexID('e') || ev.Actor.Attributes["name"] != "webfront" || ev.Actor.Attributes["image"] != "nstrace/busybox:test" {
		t.Errorf("decoded %+v", ev)
	}
}

// Lookup is on the event path: a hit allocates nothing.
func TestLookupHitAllocs(t *testing.T) {
	w := Start(Options{Endpoints: []Endpoint{}})
	defer w.Close()
	pod := &Pod{Name: "web-7d9f", Namespace: "shop"}
	w.put("/run/containerd/containerd.sock", Identity{ID: hexID('a'), Name: "nginx", Image: "nginx:1.27", Runtime: "containerd", Pod: pod})
	id := hexID('a')
	var got Identity
	if allocs := testing.AllocsPerRun(1000, func() { got, _ = w.Lookup(id) }); allocs != 0 {
		t.Errorf("Lookup hit: %v allocations", allocs)
	}
	if got.Name != "nginx" || got.Pod != pod {
		t.Errorf("Lookup = %+v", got)
	}
}

func BenchmarkLookupHit(b *testing.B) {
	w := Start(Options{Endpoints: []Endpoint{}})
	defer w.Close()
	w.put("/run/docker.sock", Identity{ID: hexID('a'), Name: "webfront", Image: "nstrace/busybox:test", Runtime: "docker"})
	id := hexID('a')
	b.ReportAllocs()
	for b.Loop() {
		w.Lookup(id)
	}
}
