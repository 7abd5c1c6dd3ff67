package session_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

func TestRoundTripReproducesEveryEventByteForByte(t *testing.T) {
	for _, name := range []string{"s.jsonl", "s.jsonl.gz", "s.jsonl.zst"} {
		t.Run(name, func(t *testing.T) {
			want := sampleEvents()
			path := record(t, name, want, session.Options{})
			got, r := readAll(t, path)
			if g, w := jsonLines(got), jsonLines(want); g != w {
				t.Fatalf("replayed JSON differs:\n got %s\nwant %s", g, w)
			}
			if w := r.Warnings(); len(w) != 0 {
				t.Errorf("warnings on a clean file: %v", w)
			}
			h := r.Header()
			if h.Host != "host-a" || h.Kernel != "6.18.0-test" || h.BootID != "b00t" || h.Part != 1 || h.Format != session.FormatVersion ||
				len(h.Hooks) != 2 || h.Hooks[1].Error != "no such file" || h.Filter != "--type net" || len(h.Session) != 16 {
				t.Errorf("header = %+v", h)
			}
			var inv struct {
				Namespaces []struct{ Names []string }
			}
			if ok, err := h.DecodeInventory(&inv); !ok || err != nil || inv.Namespaces[0].Names[0] != "blue" {
				t.Errorf("inventory: ok=%v err=%v %+v", ok, err, inv)
			}
		})
	}
}

func TestFileIsJSONLinesWithHeaderEventsAndTrailer(t *testing.T) {
	evs := sampleEvents()
	path := record(t, "s.jsonl", evs, session.Options{})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(evs)+2 {
		t.Fatalf("%d lines, want header + %d events + trailer", len(lines), len(evs))
	}
	if !strings.HasPrefix(lines[0], `{"event":"session","format":1,"time":"2026-11-29T03:38:17.125456789Z","started":"2026-11-29T03:38:17.124456789Z","session":"`) {
		t.Errorf("header line: %s", lines[0])
	}
	if got, want := strings.Join(lines[1:len(lines)-1], "\n")+"\n", jsonLines(evs); got != want {
		t.Errorf("event lines differ from AppendJSON:\n%s\nwant\n%s", got, want)
	}
	var trailer map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &trailer); err != nil {
		t.Fatal(err)
	}
	if trailer["event"] != "end" || trailer["events"] != float64(len(evs)-1) || trailer["lost"] != float64(17) {
		t.Errorf("trailer = %v", trailer)
	}
}

func TestNewFilesAreOwnerOnly(t *testing.T) {
	path := record(t, "s.jsonl", nil, session.Options{})
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestCreateRefusesToClobberOrFollowLinks(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.jsonl")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.jsonl")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d.jsonl"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		path  string
		force bool
		want  string
	}{
		{"an existing file without force", existing, false, "use --force"},
		{"a symlink to a file", link, false, "symbolic link"},
		{"a symlink to a file even with force", link, true, "symbolic link"},
		{"a dangling symlink with force", dangling, true, "symbolic link"},
		{"a directory with force", filepath.Join(dir, "d.jsonl"), true, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := session.Create(tt.path, session.Options{Force: tt.force})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("existing file changed: %q", b)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("symlink target changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("created the dangling symlink's target")
	}
}

func TestForceOverwritesAndTightensMode(t *testing.T) {
	path := writeFile(t, "s.jsonl", []byte("old contents that are longer than nothing\n"))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := session.Create(path, session.Options{Force: true, Header: testHeader()})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after --force, want 0600", st.Mode().Perm())
	}
	if _, r := readAll(t, path); len(r.Warnings()) != 0 {
		t.Errorf("warnings: %v", r.Warnings())
	}
}

func TestAppendAddsASessionThatReadsAfterTheFirst(t *testing.T) {
	evs := sampleEvents()
	path := record(t, "s.jsonl", evs[:3], session.Options{})
	// Tear the file as a killed recorder would: no trailer, half a record.
	data, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(data, []byte("\n"))
	torn := bytes.Join(lines[:3], nil) // header and two events
	torn = append(torn, lines[3][:20]...)
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}

	w, err := session.Create(path, session.Options{Append: true, Header: testHeader(), Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 3; i < len(evs); i++ {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	got, r := readAll(t, path)
	want := append(append([]event.Event(nil), evs[:2]...), evs[3:]...)
	if jsonLines(got) != jsonLines(want) {
		t.Errorf("got\n%s\nwant\n%s", jsonLines(got), jsonLines(want))
	}
	if w := r.Warnings(); len(w) != 1 || !strings.Contains(w[0].Msg, "torn record") || w[0].Pos.Line != 4 {
		t.Errorf("warnings = %v, want one about the torn record on line 4", w)
	}
}

func TestStreamWriterWritesOneSession(t *testing.T) {
	var buf bytes.Buffer
	w, err := session.NewWriter(&buf, session.Options{Header: testHeader(), Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	evs := sampleEvents()
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := session.NewReader(bufio.NewReader(&buf), "stream")
	if err != nil {
		t.Fatal(err)
	}
	got, err := drain(r)
	if err != nil || len(got) != len(evs) || len(r.Warnings()) != 0 {
		t.Errorf("read %d events (%v), warnings %v", len(got), err, r.Warnings())
	}
}

func TestPartNamesSortInOrderAndKeepTheExtension(t *testing.T) {
	tests := []struct{ path, want string }{
		{"trace.jsonl", "trace.000002.jsonl"},
		{"/var/log/ns/trace.jsonl.zst", "/var/log/ns/trace.000002.jsonl.zst"},
		{"trace.gz", "trace.000002.gz"},
		{"trace", "trace.000002"},
		{"dir.d/trace", "dir.d/trace.000002"},
	}
	for _, tt := range tests {
		if got := session.PartName(tt.path, 2); got != tt.want {
			t.Errorf("PartName(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestAHeaderTooBigToReadIsRefusedWhenWriting(t *testing.T) {
	h := testHeader()
	h.Inventory = []byte(`"` + strings.Repeat("x", session.MaxHeader) + `"`)
	path := filepath.Join(t.TempDir(), "big.jsonl")
	_, err := session.Create(path, session.Options{Header: h})
	if err == nil || !strings.Contains(err.Error(), "over the 16 MiB readers accept") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("left a file without a header behind")
	}
}
