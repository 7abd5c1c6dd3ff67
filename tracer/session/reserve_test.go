package session_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/session"
)

// allocated is how many bytes of disk f's blocks take.
func allocated(t *testing.T, path string) (size, blocks int64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size(), st.Sys().(*syscall.Stat_t).Blocks * 512
}

// While recording, a session file's blocks are allocated ahead of what was
// written, past its end; once closed it holds no block past its end, and
// its size and content are what was written.
func TestReservedBlocksAreReleasedAtClose(t *testing.T) {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	f, err := os.Create(probe)
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, 1<<20)
	f.Close()
	if err != nil {
		t.Skipf("the test directory's filesystem cannot reserve blocks: %v", err)
	}
	path := filepath.Join(dir, "s.jsonl")
	w, err := session.Create(path, session.Options{Header: testHeader()})
	if err != nil {
		t.Fatal(err)
	}
	evs := sampleEvents()
	ev := evs[2]
	for range 2000 { // past one buffer: written, not only held
		ev.Time = ev.Time.Add(time.Microsecond)
		if err := w.WriteEvent(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	size, blocks := allocated(t, path)
	if size == 0 || blocks < size+4<<20 {
		t.Errorf("while recording: %d bytes written, %d allocated; want at least 4 MiB ahead", size, blocks)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	size, blocks = allocated(t, path)
	const block = 64 << 10 // generous: the filesystem's own rounding
	if blocks > size+block {
		t.Errorf("closed: %d bytes long, %d allocated: blocks past its end were kept", size, blocks)
	}
	got, _ := readAll(t, path)
	if len(got) != 2000 {
		t.Errorf("read back %d events, want 2000", len(got))
	}
}
