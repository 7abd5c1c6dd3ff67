package session_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

// recordRotating writes evs to a rotating recording at path, as one run.
func recordRotating(t *testing.T, path string, evs []event.Event, opts session.Options) *session.Writer {
	t.Helper()
	opts.Header, opts.Now = testHeader(), fixedClock()
	w, err := session.Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

func partsOn(t *testing.T, path string) []string {
	t.Helper()
	files, err := filepath.Glob(strings.TrimSuffix(path, ".jsonl") + ".*.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func headerOf(t *testing.T, path string) *session.Header {
	t.Helper()
	r, err := session.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Header()
}

// A restarted rotating recorder numbers on after the parts already there,
// and RotateKeep counts those of both runs.
func TestRotationResumesNumberingAfterARestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ns.jsonl")
	first, second := manyEvents(1500), manyEvents(1500)
	for i := range second {
		second[i].Pid += 50000
	}
	w1 := recordRotating(t, path, first, session.Options{RotateSize: 32 << 10})
	m := len(w1.Files())
	if m < 3 {
		t.Fatalf("first run made %d parts", m)
	}
	run1 := headerOf(t, session.PartName(path, 1)).Session
	w2 := recordRotating(t, path, second, session.Options{RotateSize: 32 << 10, RotateKeep: m + 1})

	files := partsOn(t, path)
	if len(files) != m+1 {
		t.Fatalf("on disk %v: want the newest %d", files, m+1)
	}
	if mine := w2.Files(); len(mine) == 0 || strings.Join(mine, " ") != strings.Join(files[len(files)-len(mine):], " ") ||
		mine[0] != session.PartName(path, m+1) {
		t.Errorf("Files() = %v: want the second run's parts on disk, from %d", mine, m+1)
	}
	var run2 []int
	for i := 1; i <= 4*m; i++ {
		name := session.PartName(path, i)
		if _, err := os.Stat(name); err != nil {
			continue
		}
		h := headerOf(t, name)
		switch {
		case h.Session == run1 && i > m:
			t.Errorf("part %d belongs to the first run, which made %d", i, m)
		case h.Session != run1:
			run2 = append(run2, i)
			if h.Part != i-m {
				t.Errorf("file %d: header part %d, want %d", i, h.Part, i-m)
			}
		}
	}
	if len(run2) < 2 || run2[0] != m+1 {
		t.Errorf("second run's files are numbered %v, want from %d on", run2, m+1)
	}
	got, r := readAll(t, files...)
	all := append(append([]event.Event(nil), first...), second...)
	if len(got) <= len(second)/2 || jsonLines(got) != jsonLines(all[len(all)-len(got):]) {
		t.Errorf("the kept parts do not hold the last %d events in order", len(got))
	}
	for _, w := range r.Warnings() {
		t.Errorf("warning: %v", w)
	}
}

// A symbolic link planted at a future part name is passed over with a
// warning: its target untouched, the next name used, recording goes on.
func TestASymlinkAtAPartNameIsSkipped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ns.jsonl")
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, session.PartName(path, 3)); err != nil {
		t.Fatal(err)
	}
	// Planted once the recording is under way: numbering starts at 1.
	var warnings []string
	opts := session.Options{Header: testHeader(), Now: fixedClock(), RotateSize: 32 << 10,
		Warn: func(msg string) { warnings = append(warnings, msg) }}
	if err := os.Rename(session.PartName(path, 3), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	w, err := session.Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "link"), session.PartName(path, 3)); err != nil {
		t.Fatal(err)
	}
	evs := manyEvents(2000)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link's target now holds %q", b)
	}
	if st, err := os.Lstat(session.PartName(path, 3)); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	want := "rotate: skipped " + session.PartName(path, 3) + " is a symbolic link: refusing to write through it"
	if w.Skipped() != 1 || len(warnings) != 1 || warnings[0] != want {
		t.Errorf("skipped %d, warnings %q\nwant %q", w.Skipped(), warnings, want)
	}
	files := w.Files()
	if len(files) < 4 || files[2] != session.PartName(path, 4) {
		t.Fatalf("files %v: want part 4 after part 2", files)
	}
	got, r := readAll(t, files...)
	if jsonLines(got) != jsonLines(evs) || len(r.Warnings()) != 0 {
		t.Errorf("read %d of %d events, warnings %v", len(got), len(evs), r.Warnings())
	}
	if h := headerOf(t, files[2]); h.Part != 3 {
		t.Errorf("file 4 says part %d, want 3 (the third of the recording)", h.Part)
	}
	// A restart passes over the link too: it is above every part number
	// used before it, but never written through.
	if _, err := session.Create(path, session.Options{Header: testHeader(), RotateSize: 32 << 10}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link's target now holds %q", b)
	}
}

// Each part's header carries the inventory as it was when the part began.
func TestEachPartCarriesTheInventoryAtItsStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inv.jsonl")
	names := []string{"blue"}
	opts := session.Options{Header: testHeader(), Now: fixedClock(), RotateSize: 16 << 10,
		Inventory: func() (json.RawMessage, error) {
			return json.Marshal(map[string][]string{"names": names})
		}}
	w, err := session.Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	evs := manyEvents(1000)
	for i := range evs {
		if i == 300 {
			names = append(names, "red") // a namespace named during the recording
		}
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	files := w.Files()
	if len(files) < 4 {
		t.Fatalf("%d files", len(files))
	}
	first := headerOf(t, files[0])
	last := headerOf(t, files[len(files)-1])
	var a, b struct{ Names []string }
	if _, err := first.DecodeInventory(&a); err != nil {
		t.Fatal(err)
	}
	if _, err := last.DecodeInventory(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Names, ",") != "blue" || strings.Join(b.Names, ",") != "blue,red" {
		t.Errorf("first part names %v, last part names %v", a.Names, b.Names)
	}
}

// failingWriter takes limit bytes, then fails with ENOSPC, part way
// through a write as a full disk does.
type failingWriter struct {
	buf   bytes.Buffer
	limit int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	room := f.limit - f.buf.Len()
	if len(p) <= room {
		return f.buf.Write(p)
	}
	f.buf.Write(p[:max(room, 0)])
	return max(room, 0), syscall.ENOSPC
}

// A write that fails part way (a full disk) stops the recording; every
// event that did not reach the file is counted, exactly.
func TestAFailedWriteCountsEveryUnwrittenEvent(t *testing.T) {
	for _, limit := range []int{100 << 10, 100<<10 + 333, 300 << 10} {
		fw := &failingWriter{limit: limit}
		w, err := session.NewWriter(fw, session.Options{Header: testHeader(), Now: fixedClock()})
		if err != nil {
			t.Fatal(err)
		}
		evs := manyEvents(5000)
		var writeErr error
		for i := range evs {
			if err := w.WriteEvent(&evs[i]); err != nil && writeErr == nil {
				writeErr = err
			}
		}
		w.Close()
		if !errors.Is(writeErr, syscall.ENOSPC) {
			t.Fatalf("limit %d: write error %v", limit, writeErr)
		}
		r, err := session.NewReader(bytes.NewReader(fw.buf.Bytes()), "full")
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(r)
		if err != nil {
			t.Fatal(err)
		}
		var want uint64
		for i := len(got); i < len(evs); i++ {
			if evs[i].Kind != event.Lost {
				want++
			}
		}
		if jsonLines(got) != jsonLines(evs[:len(got)]) || w.Unwritten() != want {
			t.Errorf("limit %d: file holds %d of %d records; Unwritten() = %d, want %d", limit, len(got), len(evs), w.Unwritten(), want)
		}
	}
}

// Appending to a compressed file adds a gzip member or zstd frame; the
// reader reads every one. A file whose stream was cut is refused.
func TestAppendToACompressedFileAddsAStream(t *testing.T) {
	for _, name := range []string{"s.jsonl.gz", "s.jsonl.zst"} {
		t.Run(name, func(t *testing.T) {
			evs := sampleEvents()
			path := record(t, name, evs[:4], session.Options{})
			w, err := session.Create(path, session.Options{Append: true, Header: testHeader(), Now: fixedClock()})
			if err != nil {
				t.Fatal(err)
			}
			for i := 4; i < len(evs); i++ {
				if err := w.WriteEvent(&evs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, r := readAll(t, path)
			if jsonLines(got) != jsonLines(evs) || len(r.Warnings()) != 0 {
				t.Errorf("read %d of %d events, warnings %v", len(got), len(evs), r.Warnings())
			}
			if r.First().Session == r.Header().Session {
				t.Error("one session read, want two")
			}

			data, _ := os.ReadFile(path)
			cut := writeFile(t, name, data[:len(data)-5])
			_, err = session.Create(cut, session.Options{Append: true, Header: testHeader()})
			if err == nil || !strings.Contains(err.Error(), "does not end cleanly") {
				t.Errorf("append to a cut stream: %v", err)
			}
			if after, _ := os.ReadFile(cut); !bytes.Equal(after, data[:len(data)-5]) {
				t.Error("the refused file changed")
			}
		})
	}
}
