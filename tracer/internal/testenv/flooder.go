package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

var flooder struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// FlooderEnv names a prebuilt flooder for machines without a Go toolchain
// (make vmtest ships one into its guest).
const FlooderEnv = "NSTRACE_FLOODER"

// Flooder builds tracer/internal/testenv/flooder once per test binary, statically
// (it also runs in a busybox container), or copies the prebuilt one
// $NSTRACE_FLOODER names, into a directory anyone may read, so
// unprivileged users can run it. It returns a path to it named name
// (the flood's comm, which tells one test's flood from another's), and
// holds the flood lock until the test ends: a flood is a machine-wide
// event, so tests that flood, in any package, take turns.
func Flooder(t testing.TB, name string) string {
	t.Helper()
	floodLock(t)
	flooder.once.Do(func() {
		dir, err := os.MkdirTemp("", "nstrace-flooder-")
		if err != nil {
			flooder.err = err
			return
		}
		if flooder.err = os.Chmod(dir, 0o755); flooder.err != nil {
			return
		}
		flooder.dir = dir
		bin := filepath.Join(dir, "flooder")
		if prebuilt := os.Getenv(FlooderEnv); prebuilt != "" {
			flooder.err = copyExecutable(prebuilt, bin)
			return
		}
		cmd := exec.Command("go", "build", "-o", bin, "github.com/nstrace/nstrace/tracer/internal/testenv/flooder")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		flooder.out, flooder.err = cmd.CombinedOutput()
	})
	if flooder.err != nil {
		t.Fatalf("build flooder: %v\n%s", flooder.err, flooder.out)
	}
	path := filepath.Join(flooder.dir, name)
	if err := os.Link(filepath.Join(flooder.dir, "flooder"), path); err != nil && !os.IsExist(err) {
		t.Fatalf("name the flooder: %v", err)
	}
	return path
}

// copyExecutable copies src to dst, executable by anyone.
func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("prebuilt flooder: %w", err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		return fmt.Errorf("prebuilt flooder: %w", err)
	}
	return nil
}

// floodLock takes the machine-wide flood lock until t ends.
func floodLock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "nstrace-flood.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("flood lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("flood lock: %v", err)
	}
	t.Cleanup(func() { f.Close() })
}
