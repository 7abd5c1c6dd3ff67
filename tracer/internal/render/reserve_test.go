package render

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// writeLines writes n events through a JSON writer on f and returns what
// they should read as.
func writeLines(t *testing.T, j *JSON, n int) string {
	t.Helper()
	ev := event.Event{Time: time.Date(2026, 11, 30, 1, 2, 3, 4, time.UTC), Kind: event.Setns, Pid: 7, Tid: 7, Comm: "x",
		Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026532200, To: 4026531838}}}
	var want strings.Builder
	for i := range n {
		ev.Pid = uint32(i)
		if err := j.Event(&ev); err != nil {
			t.Fatal(err)
		}
		want.Write(ev.AppendJSON(nil))
		want.WriteByte('\n')
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	return want.String()
}

// To a regular file, each write's blocks are allocated just before it,
// truncating or appending: the file holds exactly the lines, and no block
// past its end.
func TestJSONReservesWhatItWritesToAFile(t *testing.T) {
	dir := t.TempDir()
	if !testenv.CanFallocate(t, dir) {
		t.Skip("the test directory's filesystem cannot allocate blocks ahead")
	}
	path := filepath.Join(dir, "events.jsonl")
	prefix := "written by someone else\n"
	if err := os.WriteFile(path, []byte(prefix), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []int{os.O_TRUNC, os.O_APPEND} {
		f, err := os.OpenFile(path, os.O_WRONLY|flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		j := NewJSON(f)
		lines := writeLines(t, j, 3*jsonBuffer/100)
		f.Close()
		want := lines
		if flag == os.O_APPEND {
			want = prefix + lines
		}
		prefix = want
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("flag %#x: the file holds %d bytes, want %d", flag, len(got), len(want))
		}
		if j.ahead.Reserved() != int64(len(lines)) {
			t.Errorf("flag %#x: %d bytes allocated ahead, want the %d written", flag, j.ahead.Reserved(), len(lines))
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if blocks := st.Sys().(*syscall.Stat_t).Blocks * 512; blocks > st.Size()+64<<10 {
			t.Errorf("flag %#x: %d bytes long, %d allocated: blocks left past its end", flag, st.Size(), blocks)
		}
	}
}

// Into a pipe nothing is allocated, and the pipe stays non-blocking.
func TestJSONToAPipeReservesNothing(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	done := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				done <- b.String()
				return
			}
		}
	}()
	j := NewJSON(w)
	want := writeLines(t, j, 10)
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var nonblock bool
	if err := rc.Control(func(fd uintptr) {
		fl, _ := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nonblock = fl&unix.O_NONBLOCK != 0
	}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := <-done; got != want {
		t.Errorf("the pipe carried %q, want %q", got, want)
	}
	if j.ahead.Reserved() != 0 || !nonblock {
		t.Errorf("into a pipe: %d bytes allocated, non-blocking %v; want 0, true", j.ahead.Reserved(), nonblock)
	}
}
