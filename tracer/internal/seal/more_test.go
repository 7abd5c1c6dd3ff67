package seal_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
	"github.com/nstrace/nstrace/tracer/session"
)

// A recorder killed between seals leaves records no seal covers: they are
// reported as unsealed, not as tampering, and everything before them checks.
func TestAnUnsealedTailIsReportedAsSuch(t *testing.T) {
	keyPath, vk := newKey(t)
	rk, err := seal.TakeRunKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	now := clock()
	path := filepath.Join(t.TempDir(), "killed.jsonl")
	w, err := session.Create(path, seal.Sealed(session.Options{Header: session.Header{Host: "h"}, Now: now},
		seal.NewSealer(&rk, seal.Options{Every: 10, Now: now})))
	if err != nil {
		t.Fatal(err)
	}
	evs := events(25)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush() // what a kill -9 leaves: no trailer, the last 6 records after seal 1
	res := verify(t, []string{path}, &vk)
	wantOnly(t, res, "killed.jsonl:23: part 1: 6 records after the last seal (line 22, 2026-11-29T03:38:18.129456789Z) are unsealed, not verified: the recorder stopped before sealing them (killed?); nothing sealed after it: 3599 epochs of 1s missing up to now (2026-11-29T04:38:18Z)")
	if !res.Problems[0].Unsealed || res.Records != 19 || res.Seals != 2 {
		t.Errorf("unsealed %v, records %d, seals %d; want true, 19, 2", res.Problems[0].Unsealed, res.Records, res.Seals)
	}
}

// A kill -9 mid-write leaves a torn last line: that tail is unsealed too,
// not a broken seal, and what the seals cover still checks.
func TestATornTailIsUnsealedNotBroken(t *testing.T) {
	files, vk := record(t, recording{name: "r.jsonl", events: 25, every: 10})
	ls := lines(t, files[0])
	n := recordLines(ls)[22] - 1
	writeLines(t, files[0], append(ls[:n:n], ls[n][:40]))
	res := verify(t, files, &vk)
	if len(res.Problems) != 1 || !res.Problems[0].Unsealed {
		t.Fatalf("problems %v, want one unsealed tail", res.Problems)
	}
	// What the seals cover still checks: every record before the last seal;
	// after counts those behind it.
	after, seals := 0, 0
	for _, l := range ls[1:n] {
		if bytes.HasPrefix(l, []byte(`{"event":"seal"`)) {
			seals++
			after = 0
			continue
		}
		after++
	}
	if seals != 2 {
		t.Fatalf("%d seals before the tear, want 2", seals)
	}
	if want := fmt.Sprintf("truncated: the file ends mid-line, %d whole records after the last seal", after); !strings.Contains(res.Problems[0].Msg, want) {
		t.Errorf("problem %q, want %q", res.Problems[0].Msg, want)
	}
	if want := n - 1 - seals - after; res.Records != want || res.Seals != seals {
		t.Errorf("records %d, seals %d verified; want %d, %d", res.Records, res.Seals, want, seals)
	}
}

// A compressed recording cut short (what kill -9 of a gzip recorder
// leaves), mid-stream or only in its footer after the trailer, is an
// unsealed tail too, not a broken seal.
func TestACutCompressedTailIsUnsealedNotBroken(t *testing.T) {
	files, vk := record(t, recording{name: "r.jsonl.gz", events: 25, every: 10})
	full, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	// Mid-stream the decompressed text ends mid-line; in the footer every
	// line arrived and only the stream's end is missing.
	for cut, why := range map[int]string{len(full) / 2: "truncated: the file ends mid-line", len(full) - 4: "compressed stream cut short, 0 whole records after"} {
		if err := os.WriteFile(files[0], full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		res := verify(t, files, &vk)
		if len(res.Problems) != 1 || !res.Problems[0].Unsealed || !strings.Contains(res.Problems[0].Msg, why) {
			t.Errorf("cut at %d of %d: problems %v, want one unsealed tail: %s", cut, len(full), res.Problems, why)
		}
	}
}

// Without a key the chain still shows an edit; with one, so does a seal
// whose fields were changed.
func TestAChangedSealIsFound(t *testing.T) {
	files, vk := record(t, recording{name: "r.jsonl", events: 30, every: 10})
	ls := lines(t, files[0])
	// Move seal 1's time: its MAC no longer matches, the lines still do.
	n := 21
	if !bytes.HasPrefix(ls[n], seal.SealPrefix) {
		t.Fatalf("line %d: %s", n+1, ls[n])
	}
	ls[n] = bytes.Replace(ls[n], []byte(`"time":"2026-11-29T03:38:18.`), []byte(`"time":"2026-11-29T03:38:19.`), 1)
	writeLines(t, files[0], ls)
	wantOnly(t, verify(t, files, &vk), "r.jsonl:22: part 1: seal 1 does not authenticate: forged, or changed after sealing")
	if res := verify(t, files, nil); !res.OK() || res.Authenticated {
		t.Errorf("without a key the chain holds: %v", res.Problems)
	}

	// A changed record is found without the key too.
	ls[3] = bytes.Replace(ls[3], []byte(`"pid":70`), []byte(`"pid":71`), 1)
	writeLines(t, files[0], ls)
	wantOnly(t, verify(t, files, nil), "r.jsonl:4: part 1: record changed since it was sealed (sealed by seal 0, line 11)")
}

// A part of another recording put in place of one is found by its session.
func TestASplicedPartIsFound(t *testing.T) {
	files, vk := record(t, recording{name: "r.jsonl", events: 100, rotateSize: 4096, every: 10})
	other, _ := record(t, recording{name: "r.jsonl", events: 100, rotateSize: 4096, every: 10})
	files[1] = other[1]
	res := verify(t, files, &vk)
	if len(res.Problems) == 0 || !strings.HasPrefix(brief(res.Problems[0]), "r.000002.jsonl:1: part 2: part 2 of another recording (") ||
		!strings.HasSuffix(res.Problems[0].Msg, "where r.000002.jsonl of recording "+header(t, files[0]).Session+" should follow") {
		t.Errorf("problems: %v", res.Problems)
	}
}

func header(t *testing.T, path string) *session.Header {
	r, err := session.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Header()
}

// A change in a compressed part is found at its line, counted in
// decompressed bytes.
func TestTamperingInACompressedPart(t *testing.T) {
	files, vk := record(t, recording{name: "r.jsonl.gz", events: 20, every: 10})
	plain := filepath.Join(t.TempDir(), "plain")
	out, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sessionhook.ScanLines(files[0], func(_ sessionhook.Position, line []byte, _ bool) error {
		if bytes.Contains(line, []byte(`"pid":7005`)) {
			line = bytes.Replace(line, []byte(`"pid":7005`), []byte(`"pid":7006`), 1)
		}
		_, err := out.Write(append(line, '\n'))
		return err
	})
	out.Close()
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "t.jsonl.gz")
	compress(t, plain, gz)
	wantOnly(t, verify(t, []string{gz}, &vk), "t.jsonl.gz:7: part 1: record changed since it was sealed (sealed by seal 0, line 11)")
}

// Sessions appended to one file each carry their own chain.
func TestAppendedSessionsVerify(t *testing.T) {
	keyPath, vk := newKey(t)
	path := filepath.Join(t.TempDir(), "a.jsonl.zst")
	for run := range 2 {
		rk, err := seal.TakeRunKey(keyPath)
		if err != nil {
			t.Fatal(err)
		}
		if rk.Epoch != uint64(run) {
			t.Fatalf("run %d took epoch %d", run, rk.Epoch)
		}
		now := clock()
		w, err := session.Create(path, seal.Sealed(session.Options{Header: session.Header{Host: "h"}, Now: now, Append: true},
			seal.NewSealer(&rk, seal.Options{Every: 7, Now: now})))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(15)
		for i := range evs {
			if err := w.WriteEvent(&evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	res := verify(t, []string{path}, &vk)
	if !res.OK() || res.Records != 30 || res.Parts != 2 {
		t.Errorf("problems %v, records %d, parts %d; want none, 30, 2", res.Problems, res.Records, res.Parts)
	}
}

// The key file moves on at each run and never holds a key that seals an
// earlier one; a file others can read is refused.
func TestTheKeyFileEvolves(t *testing.T) {
	keyPath, vk := newKey(t)
	before, _ := os.ReadFile(keyPath)
	if !bytes.Contains(before, []byte("\nepoch 00000000000000000000\n")) || !bytes.Contains(before, []byte("\nid "+vk.ID()+"\n")) {
		t.Fatalf("new key file:\n%s", before)
	}
	if _, err := seal.TakeRunKey(keyPath); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(keyPath)
	if !bytes.Contains(after, []byte("\nepoch 00000000000000000001\n")) || len(after) != len(before) ||
		bytes.Contains(after, []byte(strings.TrimPrefix(vk.String(), "nsvk1-"))) {
		t.Errorf("key file after a run:\n%s", after)
	}
	if st, _ := os.Stat(keyPath); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.TakeRunKey(keyPath); err == nil || !strings.Contains(err.Error(), "mode 0644: others may read it") {
		t.Errorf("a readable key file: %v", err)
	}
}

// compress gzips the file src into dst.
func compress(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A recording made without a key file says so.
func TestAnUnsealedRecordingSaysSo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain.jsonl")
	w, err := session.Create(path, session.Options{Header: session.Header{Host: "h"}, Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	evs := events(3)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	wantOnly(t, verify(t, []string{path}, nil), "plain.jsonl:1: part 1: not sealed (recorded with --seal=false, or by an older nstrace): its 3 records are not verified")
}

// A recording streamed to standard output (-w -) is sealed the same way.
func TestAStreamedRecordingVerifies(t *testing.T) {
	keyPath, vk := newKey(t)
	rk, err := seal.TakeRunKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stdout")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	now := clock()
	w, err := session.NewWriter(f, seal.Sealed(session.Options{Header: session.Header{Host: "h"}, Now: now},
		seal.NewSealer(&rk, seal.Options{Every: 4, Now: now})))
	if err != nil {
		t.Fatal(err)
	}
	evs := events(10)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if res := verify(t, []string{path}, &vk); !res.OK() || res.Records != 10 || res.Seals != 3 {
		t.Errorf("problems %v, records %d, seals %d; want none, 10, 3", res.Problems, res.Records, res.Seals)
	}
}
