package cli

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

var sealStatusRe = regexp.MustCompile(`<dd id="seal-status" class="([a-z]*)">([^<]*)</dd>`)

// reportSealStatus runs nstrace report on path and returns the summary's
// seal line, its style and what report printed on stderr.
func reportSealStatus(t *testing.T, path string) (class, text, stderr string) {
	t.Helper()
	page := filepath.Join(t.TempDir(), "r.html")
	_, stderr, code := nstrace(t, nil, "report", "--no-alerts", path, "-o", page)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	m := sealStatusRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no seal status in the page's summary")
	}
	return string(m[1]), html.UnescapeString(string(m[2])), stderr
}

// makeChainedSession records evs with the seals' hash chain and no key.
func makeChainedSession(t *testing.T, evs []event.Event) string {
	t.Helper()
	now := func() time.Time { return start }
	return writeSession(t, "chained.jsonl", seal.Sealed(session.Options{Header: session.Header{Host: "elsewhere", Kernel: "6.18.0"},
		Now: now}, seal.NewSealer(nil, seal.Options{Every: 2, Now: now})), evs)
}

// The report's summary says what verify would of the recording's seals:
// intact (a key's seals, checked without the key: integrity only), changed
// (where, and that the page shows it unverified), recorded without a key,
// cut after its last seal, and not sealed at all.
func TestTheReportSummarySaysWhetherTheSealsHold(t *testing.T) {
	keyPath, _ := newSealKey(t)
	intact := makeSealedSession(t, "s.jsonl", keyPath, replayEventsFixture())
	class, text, stderr := reportSealStatus(t, intact)
	want := "verified: 5 records sealed in 1 part by 4 seals, last seal at 2026-11-29T03:38:18Z; integrity only: without --key the seals' authenticity is not checked"
	if class != "good" || text != want || bytes.Contains([]byte(stderr), []byte("warning")) {
		t.Errorf("intact: %s %q\nwant good %q\n%s", class, text, want, stderr)
	}

	b, err := os.ReadFile(intact)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.jsonl")
	if err := os.WriteFile(tampered, bytes.Replace(b, []byte(`"pid":100,`), []byte(`"pid":109,`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	class, text, stderr = reportSealStatus(t, tampered)
	want = "NOT verified: " + tampered + ": line 2 (byte 226): part 1: record changed since it was sealed (sealed by seal 0, line 3)"
	if class != "bad" || text != want || !bytes.Contains([]byte(stderr), []byte("nstrace: report: warning: "+want+"\n")) {
		t.Errorf("tampered: %s %q\nwant bad %q and the warning\n%s", class, text, want, stderr)
	}

	class, text, _ = reportSealStatus(t, makeChainedSession(t, replayEventsFixture()))
	want = "verified: 5 records sealed in 1 part by 4 seals, last seal at 2026-11-29T03:38:18Z; integrity only: no key (recorded without --seal-key-file)"
	if class != "good" || text != want {
		t.Errorf("keyless: %s %q\nwant good %q", class, text, want)
	}

	lines := bytes.SplitAfter(b, []byte("\n"))
	cut := filepath.Join(t.TempDir(), "cut.jsonl")
	if err := os.WriteFile(cut, bytes.Join(lines[:7], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	class, text, _ = reportSealStatus(t, cut)
	// How many epochs are missing depends on when the test runs.
	want = "sealed records verify; " + cut + ": line 7 (byte 1564): part 1: 1 records after the last seal (line 6, 2026-11-29T03:38:18Z) are unsealed, not verified: the recorder stopped before sealing them (killed?); nothing sealed after it: "
	if class != "warn" || !strings.HasPrefix(text, want) || !strings.Contains(text[len(want)-1:], " epochs of 1s missing up to now (") {
		t.Errorf("cut after a seal: %s %q\nwant warn %q, then the epochs missing", class, text, want)
	}

	class, text, _ = reportSealStatus(t, makeSession(t, "plain.jsonl", replayEventsFixture()))
	want = "not sealed: recorded with --seal=false, or by an nstrace that did not seal"
	if class != "warn" || text != want {
		t.Errorf("unsealed: %s %q\nwant warn %q", class, text, want)
	}
}
