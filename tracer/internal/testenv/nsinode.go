package testenv

import (
	"testing"

	"golang.org/x/sys/unix"
)

// NsInode is the inode of the namespace at path: a /proc/PID/ns link (stat
// follows it to the namespace) or an nsfs mount of one.
func NsInode(t testing.TB, path string) uint32 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return uint32(st.Ino)
}
