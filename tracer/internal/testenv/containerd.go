package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// SandboxImage is the image Containerd's pods use as their sandbox (pause)
// container: busybox sleeping, imported at start since no registry is
// reachable.
const SandboxImage = "docker.io/nstrace/pause:test"

// Containerd is a containerd a test started, with its CRI plugin, state in
// a temporary directory, its own socket and a CNI bridge network of its
// own.
type Containerd struct {
	*daemon
	Socket string                   // the gRPC socket (containerd's API and the CRI)
	CRI    cri.RuntimeServiceClient // a client of its CRI runtime service
	Images cri.ImageServiceClient   // a client of its CRI image service
}

// criConfig is what the default configuration must say differently.
func criConfig(dir, sock, cniDir string) map[string]string {
	return map[string]string{
		`(?m)^root = .*$`:  fmt.Sprintf("root = %q", filepath.Join(dir, "root")),
		`(?m)^state = .*$`: fmt.Sprintf("state = %q", filepath.Join(dir, "state")),
		`(?m)^(\[grpc\]\n(?:.*\n)*?)  address = .*$`: fmt.Sprintf("${1}  address = %q", sock),
		// The sandbox's oom_score_adj -998 is refused on this machine, and
		// runc then fails with "can't get final child's PID from pipe".
		`(?m)restrict_oom_score_adj = false`: "restrict_oom_score_adj = true",
		`(?m)sandbox_image = .*$`:            fmt.Sprintf("sandbox_image = %q", SandboxImage),
		`(?m)bin_dir = .*$`:                  `bin_dir = "/usr/lib/cni"`,
		`(?m)conf_dir = .*$`:                 fmt.Sprintf("conf_dir = %q", cniDir),
	}
}

// StartContainerd starts containerd with its CRI plugin, waits until the
// CRI answers, and imports SandboxImage. After the test its pods are
// stopped and removed (which unmounts their network namespaces) and it is
// stopped.
func StartContainerd(t testing.TB) *Containerd {
	t.Helper()
	RequireKernel(t)
	bin := RequireTool(t, "containerd")
	RequireTool(t, "ctr")
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", p)); err != nil {
			t.Fatalf("CNI plugin %s missing (containernetworking-plugins): %v", p, err)
		}
	}
	dir := shortDir(t, "nsctd")
	sock := filepath.Join(dir, "containerd.sock")
	cniDir := filepath.Join(dir, "cni")
	if err := os.MkdirAll(cniDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeCNIConfig(t, cniDir, dir)
	config := run(t, nil, bin, "config", "default")
	for re, repl := range criConfig(dir, sock, cniDir) {
		next := regexp.MustCompile(re).ReplaceAllString(config, repl)
		if next == config {
			t.Fatalf("containerd config: %s not found in the default configuration", re)
		}
		config = next
	}
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Containerd{Socket: sock}
	c.daemon = startDaemon(t, dir, "containerd", sock, nil, bin, "--config", configPath)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c.CRI, c.Images = cri.NewRuntimeServiceClient(conn), cri.NewImageServiceClient(conn)
	c.waitReady(t, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.CRI.Status(ctx, &cri.StatusRequest{})
		return err
	})
	// Registered after the daemon's own cleanup, so it runs before it.
	t.Cleanup(func() { c.removePods(t) })
	c.ImportBusybox(t, SandboxImage, "/bin/sleep", "1000000")
	return c
}

// ImportBusybox imports the busybox image as name (a full reference such
// as "docker.io/nstrace/busybox:test"), running cmd by default, into the
// k8s.io namespace the CRI uses.
func (c *Containerd) ImportBusybox(t testing.TB, name string, cmd ...string) {
	t.Helper()
	run(t, nil, "ctr", "-a", c.Socket, "-n", "k8s.io", "image", "import", DockerArchive(t, cmd, name))
}

// removePods stops and removes every pod sandbox, with their containers.
func (c *Containerd) removePods(t testing.TB) {
	select {
	case <-c.exited:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pods, err := c.CRI.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		t.Logf("containerd: list pods: %v", err)
		return
	}
	for _, p := range pods.Items {
		if _, err := c.CRI.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			t.Logf("containerd: stop pod %s: %v", p.Id, err)
		}
		if _, err := c.CRI.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			t.Logf("containerd: remove pod %s: %v", p.Id, err)
		}
	}
}

// writeCNIConfig writes a bridge network of its own: a bridge and an
// address range named after the state directory, and host-local's
// allocations kept in it, so concurrent containerds do not collide.
func writeCNIConfig(t testing.TB, cniDir, stateDir string) {
	t.Helper()
	suffix := filepath.Base(stateDir)
	if len(suffix) > 9 {
		suffix = suffix[len(suffix)-9:]
	}
	// 10.89.N.0/24 with N from the directory name's random digits.
	n := 0
	for _, r := range suffix {
		n = (n*31 + int(r)) % 250
	}
	conf := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "nstrace-%[1]s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "ns%[1]s",
      "isGateway": true,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": %[2]q,
        "ranges": [[{"subnet": "10.89.%[3]d.0/24"}]]
      }
    },
    {"type": "loopback"}
  ]
}
`, suffix, filepath.Join(stateDir, "ipam"), n)
	if err := os.WriteFile(filepath.Join(cniDir, "10-nstrace.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// The bridge outlives its pods; remove it once containerd has gone.
	t.Cleanup(func() { _, _ = command("ip", "link", "del", "ns"+suffix) }) // absent if never made
}
