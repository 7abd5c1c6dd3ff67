// Package testenv is what nstrace's kernel tests share: the rule that a
// kernel test may skip only outside CI, the tools they run, and runc
// bundles. Only tests import it.
package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/tracefs"
)

// Strict reports whether a skipped kernel test must fail instead: CI sets
// NSTRACE_KERNEL_TESTS=1.
func Strict() bool { return os.Getenv("NSTRACE_KERNEL_TESTS") == "1" }

// InVM reports whether the tests run in the QEMU guest of `make vmtest`.
func InVM() bool { return os.Getenv("NSTRACE_VM") == "1" }

// RequireKernel skips a test that needs root and a BPF-capable kernel,
// unless Strict, when it fails instead.
func RequireKernel(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if Strict() {
		t.Fatal("kernel test needs root, and NSTRACE_KERNEL_TESTS=1 forbids skipping")
	}
	t.Skip("kernel test needs root (set NSTRACE_KERNEL_TESTS=1 to make this a failure)")
}

// RequireTool finds a program a kernel test runs. Such a test needs root
// first (RequireKernel), so without root it skips for that reason whether
// or not the tool is there. Only in the VM, whose image carries few tools,
// may the tool's absence skip the test; elsewhere it fails: as root,
// `make test` installs what is missing.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	RequireKernel(t)
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if InVM() {
		t.Skipf("%s is not in the VM image; this check runs on the host", name)
	}
	t.Fatalf("%s not installed (make test installs it): %v", name, err)
	return ""
}

// Bundle makes an OCI bundle in a temporary directory: a busybox root file
// system and runc's default config, running args without a terminal.
func Bundle(t testing.TB, args ...string) string {
	t.Helper()
	busybox := RequireTool(t, "busybox")
	runc := RequireTool(t, "runc")
	dir := t.TempDir()
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "readlink", "cat", "sleep", "nsenter", "true"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(runc, "spec", "-b", dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	EditBundle(t, dir, func(cfg map[string]any) {
		proc := cfg["process"].(map[string]any)
		proc["terminal"] = false
		proc["args"] = args
	})
	return dir
}

// EditBundle reads a bundle's config.json, lets edit change it, and writes
// it back.
func EditBundle(t testing.TB, bundle string, edit func(cfg map[string]any)) {
	t.Helper()
	cfgPath := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	if raw, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// AddCapability gives the container's process a capability, e.g.
// CAP_SYS_ADMIN to unshare and setns.
func AddCapability(cfg map[string]any, capability string) {
	caps := cfg["process"].(map[string]any)["capabilities"].(map[string]any)
	for _, set := range []string{"bounding", "effective", "permitted"} {
		list, _ := caps[set].([]any)
		caps[set] = append(list, capability)
	}
}

// BindFile bind-mounts the host's file src at dst in the bundle's
// container, creating the mount point in its root file system.
func BindFile(t testing.TB, bundle, dst, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", dst), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	EditBundle(t, bundle, func(cfg map[string]any) {
		cfg["mounts"] = append(cfg["mounts"].([]any), map[string]any{
			"destination": dst, "type": "bind", "source": src, "options": []string{"bind"}})
	})
}

// CopyProgram copies the host's program into the bundle's root file system
// as /NAME, NAME its base name, and returns that path.
func CopyProgram(t testing.TB, bundle, program string) string {
	t.Helper()
	data, err := os.ReadFile(program)
	if err != nil {
		t.Fatal(err)
	}
	name := "/" + filepath.Base(program)
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", name), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return name
}

// CanFallocate reports whether dir's filesystem allocates blocks ahead
// (fallocate FALLOC_FL_KEEP_SIZE).
func CanFallocate(t testing.TB, dir string) bool {
	t.Helper()
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, 4096) == nil
}

// MountTracefs mounts tracefs where no tracing directory is mounted (in
// the test's mount namespace), as root: a test that runs nstrace without
// CAP_SYS_ADMIN finds it mounted, as a deployment does, whichever test ran
// first.
func MountTracefs(t testing.TB) {
	t.Helper()
	if _, err := tracefs.Ensure(); err != nil {
		t.Fatalf("mount tracefs: %v", err)
	}
}
