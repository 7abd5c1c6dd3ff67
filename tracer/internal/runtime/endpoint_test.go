package runtime

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestParseEndpoint(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Endpoint
	}{
		{"/run/containerd/containerd.sock", Endpoint{APIAuto, "/run/containerd/containerd.sock"}},
		{"unix:///run/k3s/containerd/containerd.sock", Endpoint{APIAuto, "/run/k3s/containerd/containerd.sock"}},
		{"cri:unix:///run/crio/crio.sock", Endpoint{APICRI, "/run/crio/crio.sock"}},
		{"docker:/run/user/1000/podman/podman.sock", Endpoint{APIDocker, "/run/user/1000/podman/podman.sock"}},
		{"docker:unix:///var/run/./docker.sock", Endpoint{APIDocker, "/var/run/docker.sock"}},
	} {
		got, err := ParseEndpoint(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "docker.sock", "tcp://127.0.0.1:2375", "cri:", "unix://relative.sock"} {
		if got, err := ParseEndpoint(bad); !errors.Is(err, ErrEndpoint) {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want ErrEndpoint", bad, got, err)
		}
	}
	if s := (Endpoint{APICRI, "/run/crio/crio.sock"}).String(); s != "cri:unix:///run/crio/crio.sock" {
		t.Errorf("String() = %q", s)
	}
}

func TestSandboxInfo(t *testing.T) {
	// The shape of containerd 1.6's verbose PodSandboxStatus "info".
	info := `{"pid":20729,"processStatus":"running","runtimeSpec":{"linux":{"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"network","path":"/var/run/netns/cni-8783a162-dcd2-ec80-c837-0165a02f9a90"}]}}}`
	pid, netns := sandboxInfo(info)
	if pid != 20729 || netns != "/var/run/netns/cni-8783a162-dcd2-ec80-c837-0165a02f9a90" {
		t.Errorf("sandboxInfo = %d, %q", pid, netns)
	}
	// hostNetwork pods have no network namespace path; bad JSON says nothing.
	if pid, netns := sandboxInfo(`{"pid":7,"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"}]}}}`); pid != 7 || netns != "" {
		t.Errorf("hostNetwork sandbox: %d, %q", pid, netns)
	}
	for _, in := range []string{`{`, ``, `[]`} {
		if pid, netns := sandboxInfo(in); pid != 0 || netns != "" {
			t.Errorf("sandboxInfo(%q) = %d, %q", in, pid, netns)
		}
	}
}

// An absent runtime costs nothing: no queries are queued, lookups miss at
// once, and Close returns at once.
func TestAbsentRuntime(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	w := Start(Options{Endpoints: []Endpoint{{APIAuto, sock}}})
	start := time.Now()
	for i := 0; i < 1000; i++ {
		if id, ok := w.Lookup("3580cefedd8cf1eb9910a7a33a5f09d460b402eacf61be7f7ca70a81ce658fa2"); ok {
			t.Fatalf("Lookup found %+v with no runtime", id)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("1000 lookups took %v", d)
	}
	if st := w.Stats(); st != (Stats{}) {
		t.Errorf("Stats = %+v, want zero", st)
	}
	start = time.Now()
	w.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}
