package session

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// recordSetns writes n setns events through w, closes it and returns how
// many bytes of records the buffer wrote (the header and trailer, written
// on their own, not counted) and the records' lines.
func recordSetns(t *testing.T, w *Writer, n int) (buffered int64, lines []byte) {
	t.Helper()
	ev := event.Event{Time: time.Date(2026, 11, 30, 1, 2, 3, 4, time.UTC), Kind: event.Setns, Pid: 7, Tid: 7, Comm: "x",
		Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026532200, To: 4026531838}}}
	for i := range n {
		ev.Pid = uint32(i)
		if err := w.WriteEvent(&ev); err != nil {
			t.Fatal(err)
		}
		lines = append(ev.AppendJSON(lines), '\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	reserved := w.cur.ahead.Reserved()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return reserved, lines
}

// A plain session file has each buffer's blocks allocated just before the
// write, new or appended to: it holds exactly its records, and no block
// past its end.
func TestWriterReservesWhatItWritesToAPlainFile(t *testing.T) {
	dir := t.TempDir()
	if !testenv.CanFallocate(t, dir) {
		t.Skip("the test directory's filesystem cannot allocate blocks ahead")
	}
	path := filepath.Join(dir, "s.jsonl")
	n := 3 * bufferSize / 150 // three buffers and a part of one
	var before []byte
	for _, appendTo := range []bool{false, true} {
		w, err := Create(path, Options{Header: Header{Host: "h"}, Append: appendTo})
		if err != nil {
			t.Fatal(err)
		}
		reserved, lines := recordSetns(t, w, n)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if reserved != int64(len(lines)) {
			t.Errorf("append %v: %d bytes allocated ahead, want the %d of records written", appendTo, reserved, len(lines))
		}
		if !bytes.HasPrefix(got, before) || !bytes.Contains(got[len(before):], lines) {
			t.Errorf("append %v: the file (%d bytes) does not hold what was there (%d bytes) and then the %d bytes of records",
				appendTo, len(got), len(before), len(lines))
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if blocks := st.Sys().(*syscall.Stat_t).Blocks * 512; blocks > st.Size()+64<<10 {
			t.Errorf("append %v: %d bytes long, %d allocated: blocks left past its end", appendTo, st.Size(), blocks)
		}
		before = got
	}
}

// A compressed file's writes are the compressor's: not reserved for. A
// stream is reserved for as a file is when it is one (`-w - > FILE`).
func TestWriterReservesForStreamsToFilesOnly(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "s.jsonl.zst"), Options{Header: Header{Host: "h"}})
	if err != nil {
		t.Fatal(err)
	}
	if reserved, _ := recordSetns(t, w, 3*bufferSize/150); reserved != 0 {
		t.Errorf("compressed: %d bytes allocated ahead, want 0", reserved)
	}
	f, err := os.Create(filepath.Join(dir, "stream.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err = NewWriter(f, Options{Header: Header{Host: "h"}})
	if err != nil {
		t.Fatal(err)
	}
	if reserved, lines := recordSetns(t, w, 3*bufferSize/150); reserved != int64(len(lines)) {
		t.Errorf("streamed to a file: %d bytes allocated ahead, want the %d of records written", reserved, len(lines))
	}
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { _, _ = io.Copy(io.Discard, r) }()
	defer pw.Close()
	w, err = NewWriter(pw, Options{Header: Header{Host: "h"}})
	if err != nil {
		t.Fatal(err)
	}
	if reserved, _ := recordSetns(t, w, 3*bufferSize/150); reserved != 0 {
		t.Errorf("streamed to a pipe: %d bytes allocated ahead, want 0", reserved)
	}
}
