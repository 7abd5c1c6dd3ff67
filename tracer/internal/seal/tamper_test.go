package seal_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/seal"
)

// tampered records 100 events in several plain parts and hands the files
// to edit; verify must then report exactly want.
func tampered(t *testing.T, edit func(t *testing.T, files []string) []string, key func(seal.VerificationKey) *seal.VerificationKey, want ...string) {
	t.Helper()
	files, vk := record(t, recording{name: "r.jsonl", events: 100, rotateSize: 4096, every: 10})
	if len(files) < 4 {
		t.Fatalf("%d parts, want 4 or more", len(files))
	}
	if res := verify(t, files, &vk); !res.OK() {
		t.Fatalf("before the edit: %v", res.Problems)
	}
	files = edit(t, files)
	k := &vk
	if key != nil {
		k = key(vk)
	}
	for i := range want {
		want[i] = strings.NewReplacer("%SEALED%", vk.ID(), "%GIVEN%", k.ID()).Replace(want[i])
	}
	wantOnly(t, verify(t, files, k), want...)
}

func TestTamperingIsLocated(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, files []string) []string
		key  func(seal.VerificationKey) *seal.VerificationKey
		want []string
	}{
		{name: "byte flipped", edit: func(t *testing.T, files []string) []string {
			ls := lines(t, files[1])
			n := recordLines(ls)[3] - 1
			ls[n] = bytes.Replace(ls[n], []byte(`"pid":70`), []byte(`"pid":71`), 1)
			writeLines(t, files[1], ls)
			return files
		}, want: []string{"r.000002.jsonl:5: part 2: record changed since it was sealed (sealed by seal 2, line 11)"}},
		{name: "line deleted", edit: func(t *testing.T, files []string) []string {
			ls := lines(t, files[1])
			n := recordLines(ls)[3] - 1
			writeLines(t, files[1], append(ls[:n:n], ls[n+1:]...))
			return files
		}, want: []string{"r.000002.jsonl:5: part 2: a sealed record is missing just before this line (sealed by seal 2, line 10)"}},
		{name: "lines swapped", edit: func(t *testing.T, files []string) []string {
			ls := lines(t, files[1])
			n := recordLines(ls)[3] - 1
			ls[n], ls[n+1] = ls[n+1], ls[n]
			writeLines(t, files[1], ls)
			return files
		}, want: []string{"r.000002.jsonl:5: part 2: this line and line 6 are swapped (sealed by seal 2, line 11)"}},
		{name: "line inserted", edit: func(t *testing.T, files []string) []string {
			ls := lines(t, files[1])
			n := recordLines(ls)[3] - 1
			writeLines(t, files[1], append(ls[:n:n], append([][]byte{ls[n]}, ls[n:]...)...))
			return files
		}, want: []string{"r.000002.jsonl:6: part 2: this line was not sealed: inserted (sealed by seal 2, line 12)"}},
		{name: "middle part deleted", edit: func(t *testing.T, files []string) []string {
			os.Remove(files[1])
			return append(files[:1:1], files[2:]...)
		}, want: []string{"r.000003.jsonl:1: part 3: part 3 follows part 1: part 2 missing or out of order"}},
		{name: "last part deleted", edit: func(t *testing.T, files []string) []string {
			os.Remove(files[len(files)-1])
			return files[:len(files)-1]
		}, want: []string{"r.000005.jsonl:21: part 5: the recording goes on in r.000006.jsonl, which was not given (deleted?)"}},
		{name: "parts swapped", edit: func(t *testing.T, files []string) []string {
			return append([]string{files[0], files[2], files[1]}, files[3:]...)
		}, want: []string{"r.000003.jsonl:1: part 3: part 3 follows part 1: part 2 missing or out of order", "r.000002.jsonl:1: part 2: part 2 comes after part 3: parts out of order"}},
		{name: "last part truncated mid-record", edit: func(t *testing.T, files []string) []string {
			last := files[len(files)-1]
			ls := lines(t, last)
			n := recordLines(ls)[2] - 1
			writeLines(t, last, append(ls[:n:n], ls[n][:40]))
			return files
		}, want: []string{"r.000006.jsonl:4: part 6: truncated: the file ends mid-line, 2 whole records after the last seal (r.000005.jsonl: line 20 (byte 4227), 2026-11-29T03:38:18.155456789Z): they and what followed are not verified; nothing sealed after it: 3599 epochs of 1s missing up to now (2026-11-29T04:38:18Z)"}},
		{name: "wrong key", edit: func(t *testing.T, files []string) []string { return files },
			key: func(seal.VerificationKey) *seal.VerificationKey { _, k := newKey(t); return &k }, want: []string{"r.000001.jsonl:11: part 1: wrong key: sealed with key %SEALED%, the key given is %GIVEN%"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tampered(t, c.edit, c.key, c.want...)
		})
	}
}

var _ = filepath.Base
