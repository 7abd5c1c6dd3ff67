package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

// newSealKey runs verify --new-key and returns the key file and the
// verification key it printed.
func newSealKey(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seal.key")
	stdout, stderr, code := nstrace(t, nil, "verify", "--new-key", path)
	vk, err := seal.ParseVerificationKey(stdout)
	if code != 0 || err != nil || stdout != vk.String()+"\n" {
		t.Fatalf("verify --new-key: exit %d, stdout %q (%v), stderr %s", code, stdout, err, stderr)
	}
	if !strings.HasPrefix(stderr, "nstrace: sealing key written to "+path+" (key "+vk.ID()+"); keep the verification key above off this machine") {
		t.Errorf("stderr %q", stderr)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", st.Mode(), err)
	}
	return path, vk.String()
}

// makeSealedSession records evs as makeSession does, sealed with the key
// file at keyPath.
func makeSealedSession(t *testing.T, name, keyPath string, evs []event.Event) string {
	t.Helper()
	rk, err := seal.TakeRunKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return start }
	return writeSession(t, name, seal.Sealed(session.Options{Header: session.Header{Host: "elsewhere", Kernel: "6.18.0"},
		Now: now}, seal.NewSealer(&rk, seal.Options{Every: 2, Now: now})), evs)
}

func TestVerifySaysWhetherARecordingHolds(t *testing.T) {
	keyPath, key := newSealKey(t)
	path := makeSealedSession(t, "s.jsonl.zst", keyPath, replayEventsFixture())
	summary := "verified: 5 records sealed in 1 part by 4 seals, last seal at " + start.UTC().Format(time.RFC3339)

	stdout, stderr, code := nstrace(t, nil, "verify", path, "--key", key)
	if code != 0 || stdout != summary+"; authentic (key "+keyID(t, key)+")\n" || stderr != "" {
		t.Errorf("intact: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	stdout, _, code = nstrace(t, nil, "verify", path)
	if code != 0 || stdout != summary+"; integrity only: without --key the seals' authenticity is not checked\n" {
		t.Errorf("without a key: exit %d, stdout %q", code, stdout)
	}

	_, wrong := newSealKey(t)
	stdout, stderr, code = nstrace(t, nil, "verify", path, "--key", wrong)
	want := fmt.Sprintf("%s: line 3 (byte 526 decompressed): part 1: wrong key: sealed with key %s, the key given is %s\n", path, keyID(t, key), keyID(t, wrong))
	if code != 1 || stdout != want || stderr != "nstrace: NOT verified: 1 problem\n" {
		t.Errorf("wrong key: exit %d\nstdout %q\nwant   %q\nstderr %q", code, stdout, want, stderr)
	}
}

func keyID(t *testing.T, key string) string {
	vk, err := seal.ParseVerificationKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return vk.ID()
}

func TestSealFlagsAreChecked(t *testing.T) {
	keyPath, _ := newSealKey(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "--new-key", keyPath}, "nstrace: create sealing key " + keyPath + ": file exists\n"},
		{[]string{"verify", "--new-key", keyPath + "2", "x.jsonl"}, "nstrace: --new-key takes no files and no --key\n"},
		{[]string{"verify"}, "nstrace: verify needs the files of a recording, in order\n"},
		{[]string{"verify", "x.jsonl", "--key", "nsvk1-00"}, "nstrace: --key: not a verification key (want nsvk1- and 64 hex digits)\n"},
		{[]string{"trace", "--seal-key-file", keyPath}, "nstrace: --seal-key-file needs -w FILE\n"},
		{[]string{"trace", "-w", filepath.Join(t.TempDir(), "x.jsonl"), "--seal=false", "--seal-key-file", keyPath}, "nstrace: --seal-key-file and --seal=false do not mix\n"},
		{[]string{"trace", "-w", filepath.Join(t.TempDir(), "x.jsonl"), "--seal-interval", "0s"}, "nstrace: --seal-interval: want a duration of 1ms or more, such as 1s\n"},
		{[]string{"trace", "-w", filepath.Join(t.TempDir(), "x.jsonl"), "--seal-key-file", keyPath, "--seal-every", "0"}, "nstrace: --seal-every: want 1 to 100000 records\n"},
	} {
		_, stderr, code := nstrace(t, nil, c.args...)
		wantCode := 2
		if len(c.args) == 3 && c.args[1] == "--new-key" {
			wantCode = 1
		}
		if code != wantCode || stderr != c.want {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, code, stderr, wantCode, c.want)
		}
	}
}

// Seals are for verify: replay shows a sealed recording exactly as the
// same recording unsealed, and says nothing about them.
func TestReplayOfASealedRecordingShowsTheSameEvents(t *testing.T) {
	keyPath, _ := newSealKey(t)
	evs := replayEventsFixture()
	plain := makeSession(t, "p.jsonl", evs)
	sealed := makeSealedSession(t, "s.jsonl", keyPath, evs)
	b, _ := os.ReadFile(sealed)
	if n := bytes.Count(b, []byte(`{"event":"seal"`)); n != 4 {
		t.Fatalf("%d seal records, want 4", n)
	}
	for _, format := range []string{"json", "text"} {
		want, wantErr, code := nstrace(t, nil, "replay", "-o", format, plain)
		got, gotErr, code2 := nstrace(t, nil, "replay", "-o", format, sealed)
		if code != 0 || code2 != 0 || got != want || gotErr != wantErr {
			t.Errorf("-o %s: sealed replay (exit %d)\n%s%s\nwant (exit %d)\n%s%s", format, code2, got, gotErr, code, want, wantErr)
		}
	}
}

// A recording made by the real recorder verifies; a changed byte in it is
// found at its line.
func TestARealSealedRecordingVerifies(t *testing.T) {
	keyPath, key := newSealKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ns.jsonl")
	rec := startRecorder(t, "-q", "--comm", "unshare", "--type", "uts", "-w", path, "--seal-key-file", keyPath, "--rotate-size", "4K")
	unshares(t, 40)
	if code, _, stderr := rec.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "ns.*.jsonl"))
	if len(files) < 2 {
		t.Fatalf("parts %v, want several", files)
	}
	records, seals := 0, 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, l := range bytes.Split(b, []byte("\n")) {
			switch {
			case bytes.HasPrefix(l, []byte(`{"event":"seal"`)):
				seals++
			case len(l) > 0 && !bytes.HasPrefix(l, []byte(`{"event":"session"`)) && !bytes.HasPrefix(l, []byte(`{"event":"end"`)):
				records++
			}
		}
	}
	if records < 40 {
		t.Fatalf("%d records, want the 40 unshares at least", records)
	}
	stdout, stderr, code := nstrace(t, nil, append([]string{"verify", "--key", key}, files...)...)
	want := regexp.MustCompile(fmt.Sprintf(`^verified: %d records sealed in %d parts by %d seals, last seal at \S+Z; authentic \(key %s\)\n$`,
		records, len(files), seals, keyID(t, key)))
	if code != 0 || !want.MatchString(stdout) {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(keyPath); !bytes.Contains(b, []byte("\nepoch 00000000000000000001\n")) {
		t.Errorf("key file after one run:\n%s", b)
	}

	// Change the comm of the last unshare record of the first part that has one: "unshare" → "unshard".
	var lines [][]byte
	part, n, off := 0, 0, 0
	for i := 0; i < len(files) && n == 0; i++ {
		b, _ := os.ReadFile(files[i])
		lines = bytes.SplitAfter(b, []byte("\n"))
		for j, l := range lines {
			if bytes.Contains(l, []byte(`"comm":"unshare"`)) && !bytes.HasPrefix(l, []byte(`{"event":"session"`)) {
				part, n, off = i+1, j, len(bytes.Join(lines[:j], nil))
			}
		}
	}
	if n == 0 {
		t.Fatalf("no unshare record in %v", files)
	}
	lines[n] = bytes.Replace(lines[n], []byte(`"comm":"unshare"`), []byte(`"comm":"unshard"`), 1)
	if err := os.WriteFile(files[part-1], bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = nstrace(t, nil, append([]string{"verify", "--key", key}, files...)...)
	wantLine := regexp.MustCompile(fmt.Sprintf(`^%s: line %d \(byte %d\): part %d: record changed since it was sealed \(sealed by seal \d+, line \d+\)\n$`,
		regexp.QuoteMeta(files[part-1]), n+1, off, part))
	if code != 1 || !wantLine.MatchString(stdout) || stderr != "nstrace: NOT verified: 1 problem\n" {
		t.Errorf("tampered: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}

// A recorder killed with SIGKILL leaves records no seal covers: verify
// reports them as unsealed, not as tampering.
func TestAKilledSealedRecorderLeavesAnUnsealedTail(t *testing.T) {
	keyPath, key := newSealKey(t)
	path := filepath.Join(t.TempDir(), "ns.jsonl")
	rec := startRecorder(t, "-q", "--comm", "unshare", "--type", "uts", "-w", path,
		"--seal-key-file", keyPath, "--seal-interval", "1h")
	unshares(t, 20)
	var b []byte
	waitFor(t, "20 records in the file", func() bool {
		b, _ = os.ReadFile(path)
		return bytes.Count(b, []byte(`"event":"unshare"`)) >= 20
	})
	rec.stop(t, syscall.SIGKILL)
	b, _ = os.ReadFile(path)
	n := bytes.Count(b, []byte("\n")) - 1 // records after the header
	stdout, stderr, code := nstrace(t, nil, "verify", "--key", key, path)
	want := fmt.Sprintf("%s: line 1 (byte 0): part 1: %d records after no seal are unsealed, not verified: the recorder stopped before sealing them (killed?)\n", path, n)
	if code != 1 || stdout != want || stderr != "nstrace: NOT verified: records at the end are unsealed (the recorder was stopped before sealing them); everything sealed checks\n" {
		t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q", code, stdout, want, stderr)
	}
}

// Every recording carries the hash chain, key or not: verify checks its
// integrity and says that no key signed it; --seal=false writes none.
func TestARecordingWithoutAKeyIsChained(t *testing.T) {
	dir := t.TempDir()
	chained, plain := filepath.Join(dir, "chained.jsonl"), filepath.Join(dir, "plain.jsonl")
	recs := []*recorder{startRecorder(t, "-q", "--comm", "unshare", "--type", "uts", "-w", chained),
		startRecorder(t, "-q", "--comm", "unshare", "--type", "uts", "-w", plain, "--seal=false")}
	unshares(t, 5)
	for _, path := range []string{chained, plain} {
		waitFor(t, "5 records in "+path, func() bool {
			b, _ := os.ReadFile(path)
			return bytes.Count(b, []byte(`"event":"unshare"`)) >= 5
		})
	}
	for _, rec := range recs {
		if code, _, stderr := rec.stop(t, syscall.SIGINT); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	b, _ := os.ReadFile(chained)
	seals := bytes.Count(b, []byte(`{"event":"seal"`))
	records := bytes.Count(b, []byte("\n")) - 2 - seals // all but the header, the trailer and the seals
	if bytes.Contains(b, []byte(`"mac"`)) || seals == 0 {
		t.Fatalf("%d seals, want chain-only ones:\n%s", seals, b)
	}
	stdout, stderr, code := nstrace(t, nil, "verify", chained)
	want := regexp.MustCompile(fmt.Sprintf(`^verified: %d records sealed in 1 part by %d seals?, last seal at \S+Z; integrity only: no key \(recorded without --seal-key-file\)\n$`, records, seals))
	if code != 0 || !want.MatchString(stdout) {
		t.Errorf("chained: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	b, _ = os.ReadFile(plain)
	n := bytes.Count(b, []byte("\n")) - 2 // header and trailer
	stdout, _, code = nstrace(t, nil, "verify", plain)
	if wantPlain := fmt.Sprintf("%s: line 1 (byte 0): part 1: not sealed (recorded with --seal=false, or by an older nstrace): its %d records are not verified\n", plain, n); code != 1 || stdout != wantPlain {
		t.Errorf("--seal=false: exit %d\nstdout %q\nwant   %q", code, stdout, wantPlain)
	}
}
