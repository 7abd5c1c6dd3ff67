package inventorytest

import (
	"os"
	"path/filepath"
	"testing"
)

// MountRoot is a filesystem root holding only a mount table of its own,
// which WriteMountinfo rewrites: as after `ip netns add`, the table names
// namespaces nsfs has nothing to say about.
func MountRoot(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "proc/self"), 0o755); err != nil {
		t.Fatal(err)
	}
	WriteMountinfo(t, root, "")
	return root
}

// WriteMountinfo makes root's /proc/self/mountinfo the root filesystem
// followed by lines.
func WriteMountinfo(t testing.TB, root, lines string) {
	t.Helper()
	p := filepath.Join(root, "proc/self/mountinfo")
	if err := os.WriteFile(p, []byte("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"+lines), 0o644); err != nil {
		t.Fatal(err)
	}
}
