package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/runtime"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

const dockerImage = "nstrace/busybox:test"

// waitLookup polls Lookup until it finds id, for at most 10 s.
func waitLookup(t *testing.T, w *runtime.Watcher, id string) runtime.Identity {
	t.Helper()
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		if ident, ok := w.Lookup(id); ok {
			t.Logf("%s (%s) known %v after first asked", ident.Name, id[:12], time.Since(start).Round(time.Millisecond))
			return ident
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lookup(%s) found nothing in 10 s (%+v)", id, w.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cgroupContainerID is the container id tracer/internal/resolve reads from a
// process's cgroup, in the v1 name=systemd hierarchy: the key a kernel
// event is joined by on this hybrid host.
func cgroupContainerID(t *testing.T, pid string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", pid, "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	return containerIDOfCgroup(t, string(data))
}

func TestDockerNames(t *testing.T) {
	testenv.RequireKernel(t)
	d := testenv.StartDocker(t)
	d.ImportBusybox(t, dockerImage, "/bin/sleep", "100000")
	// Started before the watcher: named from its first list.
	early := d.CLI(t, "run", "-d", "--name", "early-bird", dockerImage)
	w := runtime.Start(runtime.Options{Endpoints: []runtime.Endpoint{{API: runtime.APIAuto, Path: d.Socket}}})
	defer w.Close()

	got := waitLookup(t, w, early)
	if want := (runtime.Identity{ID: early, Name: "early-bird", Image: dockerImage, Runtime: "docker"}); got != want {
		t.Errorf("early container: %+v, want %+v", got, want)
	}

	id := d.CLI(t, "run", "-d", "--name", "webfront", dockerImage)
	pid := d.CLI(t, "inspect", "-f", "{{.State.Pid}}", id)
	key := cgroupContainerID(t, pid)
	if key != id {
		t.Fatalf("cgroup of pid %s names container %s, docker says %s", pid, key, id)
	}
	got = waitLookup(t, w, key)
	if want := (runtime.Identity{ID: id, Name: "webfront", Image: dockerImage, Runtime: "docker"}); got != want {
		t.Errorf("webfront: %+v, want %+v", got, want)
	}
	// docker exec by name: the exec'd process is in the container's cgroup.
	if key := containerIDOfCgroup(t, d.CLI(t, "exec", "webfront", "cat", "/proc/self/cgroup")); key != id {
		t.Errorf("docker exec webfront runs in container %s's cgroup, want %s", key, id)
	}

	// Gone before anyone asks: only the event stream can name it.
	cidFile := filepath.Join(t.TempDir(), "cid")
	start := time.Now()
	d.CLI(t, "run", "--rm", "--cidfile", cidFile, "--name", "blink", dockerImage, "/bin/true")
	t.Logf("blink ran and was removed in %v", time.Since(start))
	raw, err := os.ReadFile(cidFile)
	if err != nil {
		t.Fatal(err)
	}
	blink := strings.TrimSpace(string(raw))
	if out := d.CLI(t, "ps", "-aq", "--no-trunc", "--filter", "id="+blink); out != "" {
		t.Fatalf("blink still exists: %s", out)
	}
	got = waitLookup(t, w, blink)
	if want := (runtime.Identity{ID: blink, Name: "blink", Image: dockerImage, Runtime: "docker"}); got != want {
		t.Errorf("blink: %+v, want %+v", got, want)
	}
}

// A runtime that hangs, then goes away: lookups keep answering from the
// cache within a bound, misses return at once, and Close does not wait
// for the hung runtime.
func TestDockerHungThenGone(t *testing.T) {
	testenv.RequireKernel(t)
	d := testenv.StartDocker(t)
	d.ImportBusybox(t, dockerImage, "/bin/sleep", "100000")
	id := d.CLI(t, "run", "-d", "--name", "webfront", dockerImage)
	w := runtime.Start(runtime.Options{
		Endpoints: []runtime.Endpoint{{API: runtime.APIDocker, Path: d.Socket}},
		Timeout:   300 * time.Millisecond,
	})
	closed := false
	defer func() {
		if !closed {
			w.Close()
		}
	}()
	want := runtime.Identity{ID: id, Name: "webfront", Image: dockerImage, Runtime: "docker"}
	if got := waitLookup(t, w, id); got != want {
		t.Fatalf("webfront: %+v, want %+v", got, want)
	}

	// Far below the request timeout: a lookup never waits for a runtime.
	const bound = 50 * time.Millisecond
	lookups := func(phase string) {
		t.Helper()
		var worst time.Duration
		for i := 0; i < 2000; i++ {
			miss := strings.Repeat("0", 60) + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16%16]) + string("0123456789abcdef"[i/256%16]) + "f"
			start := time.Now()
			got, ok := w.Lookup(id)
			_, missOK := w.Lookup(miss)
			worst = max(worst, time.Since(start))
			if !ok || got != want || missOK {
				t.Fatalf("%s: Lookup = %+v, %v; miss found: %v", phase, got, ok, missOK)
			}
		}
		if worst > bound {
			t.Errorf("%s: a hit and a miss took up to %v, want < %v", phase, worst, bound)
		}
	}

	if err := d.Pause(); err != nil {
		t.Fatal(err)
	}
	lookups("runtime hung")
	st := w.Stats()
	t.Logf("hung runtime: %+v", st)
	// One miss is being asked about (and times out), the queue holds 256,
	// the rest were dropped and counted.
	if st.Dropped == 0 || st.Dropped+st.Queried < 2000-256-1 {
		t.Errorf("hung runtime: %+v: want misses beyond the queue dropped", st)
	}
	if err := d.Resume(); err != nil {
		t.Fatal(err)
	}

	d.CLI(t, "rm", "-f", id)
	d.Stop(t)
	deadline := time.Now().Add(10 * time.Second)
	for w.Stats().Connected != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still connected to a stopped dockerd: %+v", w.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	lookups("runtime gone")

	start := time.Now()
	w.Close()
	closed = true
	if el := time.Since(start); el > time.Second {
		t.Errorf("Close took %v", el)
	}
}

func TestPodmanNames(t *testing.T) {
	testenv.RequireKernel(t)
	p := testenv.StartPodman(t)
	const image = "localhost/nstrace/busybox:test"
	p.LoadBusybox(t, image, "/bin/sleep", "100000")
	w := runtime.Start(runtime.Options{Endpoints: []runtime.Endpoint{{API: runtime.APIAuto, Path: p.Socket}}})
	defer w.Close()
	// Through the Docker-compatible socket, as a docker user would.
	id := testenv.RunDockerCLI(t, p.Socket, "run", "-d", "--name", "cache", image)
	pid := p.CLI(t, "inspect", "-f", "{{.State.Pid}}", id)
	if key := cgroupContainerID(t, pid); key != id {
		t.Fatalf("cgroup of pid %s names container %s, podman says %s", pid, key, id)
	}
	got := waitLookup(t, w, id)
	if want := (runtime.Identity{ID: id, Name: "cache", Image: image, Runtime: "podman"}); got != want {
		t.Errorf("cache: %+v, want %+v", got, want)
	}

	// Gone before anyone asks: named from podman's event stream.
	cidFile := filepath.Join(t.TempDir(), "cid")
	testenv.RunDockerCLI(t, p.Socket, "run", "--rm", "--cidfile", cidFile, "--name", "blink", image, "/bin/true")
	raw, err := os.ReadFile(cidFile)
	if err != nil {
		t.Fatal(err)
	}
	blink := strings.TrimSpace(string(raw))
	if out := p.CLI(t, "ps", "-aq", "--no-trunc", "--filter", "id="+blink); out != "" {
		t.Fatalf("blink still exists: %s", out)
	}
	got = waitLookup(t, w, blink)
	if want := (runtime.Identity{ID: blink, Name: "blink", Image: image, Runtime: "podman"}); got != want {
		t.Errorf("blink: %+v, want %+v", got, want)
	}
}
