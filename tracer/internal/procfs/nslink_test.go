package procfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestNsInodeReadsTheLinkAsTheKernelWritesIt(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if got := NsInode("/", 0, event.Net); got != uint32(st.Ino) {
		t.Errorf("NsInode(/, self, net) = %d, want %d (stat of /proc/self/ns/net)", got, st.Ino)
	}
	if got := NsInode("/", uint32(os.Getpid()), event.Net); got != uint32(st.Ino) {
		t.Errorf("NsInode(/, %d, net) = %d, want %d", os.Getpid(), got, st.Ino)
	}
}

func TestNsInodeUnderAnotherRoot(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "proc/42/ns")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("uts:[4026532177]", filepath.Join(dir, "uts")); err != nil {
		t.Fatal(err)
	}
	if got := NsInode(root, 42, event.UTS); got != 4026532177 {
		t.Errorf("got %d, want 4026532177", got)
	}
	if got := NsInode(root, 43, event.UTS); got != 0 {
		t.Errorf("a task that is not there: got %d, want 0", got)
	}
	if got := NsInode(root, 42, event.Net); got != 0 {
		t.Errorf("a link that is not there: got %d, want 0", got)
	}
	if n := testing.AllocsPerRun(100, func() { NsInode(root, 42, event.UTS) }); n != 0 {
		t.Errorf("%v allocations per read, want 0", n)
	}
}
