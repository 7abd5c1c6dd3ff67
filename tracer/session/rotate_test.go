package session_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/session"
)

func TestRotationMakesNumberedFilesThatReplayInOrder(t *testing.T) {
	for _, tt := range []struct {
		name string
		size int64
	}{{"r.jsonl", 64 << 10}, {"r.jsonl.zst", 2 << 10}} {
		name := tt.name
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			all := manyEvents(3000)
			w, err := session.Create(path, session.Options{Header: testHeader(), Now: fixedClock(), RotateSize: tt.size})
			if err != nil {
				t.Fatal(err)
			}
			for i := range all {
				if err := w.WriteEvent(&all[i]); err != nil {
					t.Fatal(err)
				}
				if i%100 == 0 {
					w.Flush()
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "r.*"+strings.TrimPrefix(name, "r")))
			if len(files) < 3 {
				t.Fatalf("%d files: %v", len(files), files)
			}
			for i, f := range files {
				if want := session.PartName(path, i+1); f != want {
					t.Errorf("file %d is %s, want %s", i, f, want)
				}
				st, _ := os.Stat(f)
				if name == "r.jsonl" && st.Size() > tt.size+4096 {
					t.Errorf("%s has %d bytes, rotating at %d", f, st.Size(), tt.size)
				}
			}
			got, r := readAll(t, files...)
			if jsonLines(got) != jsonLines(all) {
				t.Fatalf("read %d events across %d files, want %d in order", len(got), len(files), len(all))
			}
			if len(r.Warnings()) != 0 {
				t.Errorf("warnings: %v", r.Warnings())
			}
			if h := r.Header(); h.Part != len(files) || r.First().Part != 1 || r.First().Session != h.Session {
				t.Errorf("last header part %d of session %s; first %+v", h.Part, h.Session, r.First())
			}
		})
	}
}

func TestRotationKeepsTheNewestFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.jsonl")
	all := manyEvents(3000)
	w, err := session.Create(path, session.Options{Header: testHeader(), Now: fixedClock(), RotateSize: 32 << 10, RotateKeep: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		if err := w.WriteEvent(&all[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "k.*.jsonl"))
	if len(files) != 3 {
		t.Fatalf("files = %v, want the newest 3", files)
	}
	if got := w.Files(); strings.Join(got, " ") != strings.Join(files, " ") {
		t.Errorf("Files() = %v, on disk %v", got, files)
	}
	got, r := readAll(t, files...)
	if n := len(got); n == 0 || jsonLines(got) != jsonLines(all[len(all)-n:]) {
		t.Errorf("the kept files hold %d events that are not the last ones", n)
	}
	if len(r.Warnings()) != 0 {
		t.Errorf("warnings: %v", r.Warnings())
	}
	if r.First().Part < 2 {
		t.Errorf("first kept part is %d", r.First().Part)
	}
}

func TestFilesGivenOutOfOrderAreFlagged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "o.jsonl")
	all := manyEvents(2000)
	w, _ := session.Create(path, session.Options{Header: testHeader(), Now: fixedClock(), RotateSize: 32 << 10})
	for i := range all {
		if err := w.WriteEvent(&all[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "o.*.jsonl"))
	files[0], files[1] = files[1], files[0]
	_, r := readAll(t, files...)
	if w := r.Warnings(); len(w) == 0 || !strings.Contains(w[0].Msg, "out of order") {
		t.Errorf("warnings = %v", w)
	}
}
