package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// Replay checks the seals as it reads: an intact recording replays without
// a word about them, a changed byte warns once, and with --verify ends the
// replay with status 1.
func TestReplaySaysWhenASealBreaks(t *testing.T) {
	keyPath, _ := newSealKey(t)
	path := makeSealedSession(t, "s.jsonl", keyPath, replayEventsFixture())
	intactOut, intactErr, code := nstrace(t, nil, "replay", "--no-alerts", path)
	if code != 0 || strings.Contains(intactErr, "warning") || strings.Count(intactOut, "\n") != 6 {
		t.Fatalf("intact: exit %d\n%s%s", code, intactOut, intactErr)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(b, []byte(`"pid":100,`), []byte(`"pid":109,`), 1)
	if bytes.Equal(changed, b) {
		t.Fatal("no pid 100 in the recording")
	}
	if err := os.WriteFile(path, changed, 0o600); err != nil {
		t.Fatal(err)
	}
	broken := "nstrace: replay " + path + ": line 2 (byte 226): NOT verified: part 1: record changed since it was sealed (sealed by seal 0, line 3)\n"

	out, stderr, code := nstrace(t, nil, "replay", "--no-alerts", path)
	if code != 0 || out != strings.Replace(intactOut, "     100       1 unshare          unshare net+",
		"     109       1 unshare          unshare tid=100 net+", 1) ||
		strings.Count(stderr, "warning") != 1 || !strings.Contains(stderr, strings.Replace(broken, "NOT", "warning: NOT", 1)) {
		t.Errorf("changed: exit %d\n%s%s\nwant the one warning %s", code, out, stderr, broken)
	}
	_, stderr, code = nstrace(t, nil, "replay", "--no-alerts", "--verify", path)
	if code != 1 || !strings.HasSuffix(stderr, broken) || strings.Contains(stderr, "warning") {
		t.Errorf("--verify: exit %d\n%s\nwant exit 1 and last %s", code, stderr, broken)
	}
}

// Records after the last seal (a recorder killed before sealing them) are
// no broken seal: even with --verify, replay shows them and exits 0, and
// the reader's warning says the session has no trailer.
func TestReplayVerifyPassesAnUnsealedTail(t *testing.T) {
	keyPath, _ := newSealKey(t)
	path := makeSealedSession(t, "s.jsonl", keyPath, replayEventsFixture())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines) < 8 || !bytes.HasPrefix(lines[5], sealPrefix) || bytes.HasPrefix(lines[6], sealPrefix) {
		t.Fatalf("line 6 is no seal or line 7 is one:\n%s", b)
	}
	if err := os.WriteFile(path, bytes.Join(lines[:7], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if stdout, _, code := nstrace(t, nil, "verify", path); code != 1 || !strings.Contains(stdout, "1 records after the last seal (line 6") {
		t.Fatalf("verify: exit %d, %s; want one unsealed record after line 6", code, stdout)
	}
	out, stderr, code := nstrace(t, nil, "replay", "--no-alerts", "--verify", "-o", "json", path)
	evs := replayEventsFixture()
	want := liveJSON(evs[:4])
	if code != 0 || out != want || strings.Contains(stderr, "NOT verified") ||
		strings.Count(stderr, "warning") != 1 || !strings.Contains(stderr, "warning: session ends without a trailer") {
		t.Errorf("exit %d\n%s%s\nwant\n%s", code, out, stderr, want)
	}
}
