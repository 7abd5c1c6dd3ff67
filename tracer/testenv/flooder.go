package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var flooder struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Flooder builds tracer/testenv/flooder once per test binary, statically
// (it also runs in a busybox container) into a directory anyone may read,
// so unprivileged users can run it, and returns its path.
func Flooder(t testing.TB) string {
	t.Helper()
	flooder.once.Do(func() {
		dir, err := os.MkdirTemp("", "nstrace-flooder-")
		if err != nil {
			flooder.err = err
			return
		}
		if flooder.err = os.Chmod(dir, 0o755); flooder.err != nil {
			return
		}
		flooder.path = filepath.Join(dir, "flooder")
		cmd := exec.Command("go", "build", "-o", flooder.path, "github.com/nstrace/nstrace/tracer/testenv/flooder")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		flooder.out, flooder.err = cmd.CombinedOutput()
	})
	if flooder.err != nil {
		t.Fatalf("build flooder: %v\n%s", flooder.err, flooder.out)
	}
	return flooder.path
}
