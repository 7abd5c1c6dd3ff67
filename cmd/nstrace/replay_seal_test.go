package main

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
