package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Podman is a `podman system service` a test started: the Docker-compatible
// Engine API on a socket of its own, with storage and state in a temporary
// directory.
type Podman struct {
	*daemon
	Socket string // the Docker-compatible API's unix socket
	args   []string
	env    []string
}

// StartPodman starts the service and waits until it answers /_ping.
// Containers use runc (crun refuses this machine's hybrid cgroup layout),
// ulimits this machine allows, and no network; the service is stopped
// after the test, its containers removed first.
func StartPodman(t testing.TB) *Podman {
	t.Helper()
	RequireKernel(t)
	bin := RequireTool(t, "podman")
	RequireTool(t, "runc")
	dir := shortDir(t, "nspod")
	sock := filepath.Join(dir, "podman.sock")
	conf := fmt.Sprintf(`[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
tmp_dir = %q
volume_path = %q

[network]
network_config_dir = %q
`, filepath.Join(dir, "events.log"), filepath.Join(dir, "tmp"), filepath.Join(dir, "volumes"), filepath.Join(dir, "net"))
	confPath := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Podman{
		Socket: sock,
		args:   []string{bin, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--runtime", "runc", "--storage-driver", "overlay"},
		env:    []string{"CONTAINERS_CONF=" + confPath},
	}
	p.daemon = startDaemon(t, dir, "podman", sock, p.env, append(p.args, "system", "service", "--time", "0", "unix://"+sock)...)
	p.waitReady(t, func() error { return pingHTTP(sock) })
	t.Cleanup(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		p.try("rm", "-af", "-t", "0")
	})
	return p
}

// CLI runs podman on this service's storage, failing the test if it fails,
// and returns its output.
func (p *Podman) CLI(t testing.TB, args ...string) string {
	t.Helper()
	return runEnv(t, p.env, nil, append(p.args, args...)...)
}

func (p *Podman) try(args ...string) {
	_, _ = commandEnv(p.env, append(p.args, args...)...)
}

// LoadBusybox makes image name (e.g. "localhost/nstrace/busybox:test") from
// the busybox root file system, running cmd by default.
func (p *Podman) LoadBusybox(t testing.TB, name string, cmd ...string) {
	t.Helper()
	p.CLI(t, "load", "-i", DockerArchive(t, cmd, name))
}
