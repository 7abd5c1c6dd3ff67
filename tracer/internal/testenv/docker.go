package testenv

import (
	"path/filepath"
	"strings"
	"testing"
)

// dockerCLI is Debian's docker client; another docker may be earlier on PATH.
const dockerCLI = "/usr/bin/docker"

// Docker is a dockerd a test started, with its state in a temporary
// directory and its own socket. It has no bridge and touches no iptables
// rules, so several can run at once; containers get no network unless run
// with --network host.
type Docker struct {
	*daemon
	Socket string // the Engine API's unix socket
}

// StartDocker starts dockerd and waits until it answers /_ping. It is
// stopped after the test, its containers removed first.
func StartDocker(t testing.TB) *Docker {
	t.Helper()
	RequireKernel(t)
	bin := RequireTool(t, "dockerd")
	RequireTool(t, dockerCLI)
	dir := shortDir(t, "nsdk")
	sock := filepath.Join(dir, "docker.sock")
	d := &Docker{Socket: sock}
	d.daemon = startDaemon(t, dir, "dockerd", sock, nil, bin,
		"--data-root", filepath.Join(dir, "root"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"-H", "unix://"+sock,
		"--bridge", "none", "--iptables=false", "--ip-masq=false",
		"--storage-driver", "overlay2")
	d.waitReady(t, func() error { return pingHTTP(sock) })
	// Registered after the daemon's own cleanup, so it runs before it:
	// sleep as pid 1 ignores SIGTERM, and dockerd would wait out each
	// container's stop timeout.
	t.Cleanup(func() {
		select {
		case <-d.exited:
			return
		default:
		}
		if ids := d.try("ps", "-aq"); ids != "" {
			d.try(append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
		}
	})
	return d
}

// CLI runs the docker client against this daemon, failing the test if it
// fails, and returns its output.
func (d *Docker) CLI(t testing.TB, args ...string) string {
	t.Helper()
	return RunDockerCLI(t, d.Socket, args...)
}

// RunDockerCLI runs Debian's docker client against the Engine API on
// socket (a dockerd's, or podman's compatible one), failing the test if it
// fails, and returns its output.
func RunDockerCLI(t testing.TB, socket string, args ...string) string {
	t.Helper()
	RequireTool(t, dockerCLI)
	return run(t, nil, append([]string{dockerCLI, "-H", "unix://" + socket}, args...)...)
}

// try runs the docker client and returns its output, "" on failure.
func (d *Docker) try(args ...string) string {
	out, err := command(append([]string{dockerCLI, "-H", "unix://" + d.Socket}, args...)...)
	if err != nil {
		return ""
	}
	return out
}

// ImportBusybox makes image name (e.g. "nstrace/busybox:test") from the
// busybox root file system with `docker import`, running cmd by default.
func (d *Docker) ImportBusybox(t testing.TB, name string, cmd ...string) {
	t.Helper()
	change := `CMD ["` + strings.Join(cmd, `","`) + `"]`
	run(t, BusyboxTar(t), dockerCLI, "-H", "unix://"+d.Socket, "import", "--change", change, "-", name)
}
