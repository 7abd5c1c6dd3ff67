package procfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestAppendTaskFileReadsItWhole(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "proc/42")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Longer than the buffer given: it grows.
	want := []byte(strings.Repeat("4:memory:/docker/0123456789abcdef\n", 300))
	if err := os.WriteFile(filepath.Join(dir, "cgroup"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	got, ok := AppendTaskFile(make([]byte, 0, 64), root, 42, "cgroup")
	if !ok || !bytes.Equal(got, want) {
		t.Errorf("got %d bytes (ok %v), want %d", len(got), ok, len(want))
	}
	if got, ok := AppendTaskFile([]byte("kept"), root, 43, "cgroup"); ok || string(got) != "kept" {
		t.Errorf("a task that is not there: got %q, %v; want %q, false", got, ok, "kept")
	}
}

func TestAppendTaskFileOfProcSelf(t *testing.T) {
	want, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	got, ok := AppendTaskFile(nil, "/", 0, "cgroup")
	if !ok || !bytes.Equal(got, want) {
		t.Errorf("got %q (ok %v), want %q", got, ok, want)
	}
	got, ok = AppendTaskFile(nil, "/", uint32(os.Getpid()), "cgroup")
	if !ok || !bytes.Equal(got, want) {
		t.Errorf("by pid: got %q (ok %v), want %q", got, ok, want)
	}
}

func TestTaskGone(t *testing.T) {
	if !ProcIsOurs("/") {
		t.Skip("/proc is not our pid namespace's here")
	}
	if ProcIsOurs(t.TempDir()) {
		t.Error("ProcIsOurs of a root without /proc")
	}
	if TaskGone(uint32(os.Getpid()), uint32(unix.Gettid())) {
		t.Error("TaskGone of this thread")
	}
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(child.Process.Pid)
	if !TaskGone(pid, pid) {
		t.Errorf("TaskGone(%d) of a reaped child: false", pid)
	}
}
