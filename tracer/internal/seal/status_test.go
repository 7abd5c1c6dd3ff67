package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/seal"
)

// replayVerified reads paths as replay does, with a Verifier watching the
// lines, and returns the events read, the first break seen while reading
// (and the event count at that point), and the status at the end.
func replayVerified(t *testing.T, paths []string, vk *seal.VerificationKey) (events int, broken string, at int, status string) {
	t.Helper()
	v := seal.NewVerifier(vk, func() time.Time { return verifiedAt })
	r, err := seal.OpenWatched(v, paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		events++
		if p, ok := v.Broken(); ok && broken == "" {
			broken, at = brief(p), events
		}
	}
	return events, broken, at, v.Finish().Status()
}

func TestAReaderReportsTheFirstBreakAsItReads(t *testing.T) {
	files, vk := record(t, recording{name: "r.jsonl.zst", events: 60, rotateSize: 1024, every: 10})
	n, broken, _, status := replayVerified(t, files, &vk)
	res := verify(t, files, &vk)
	if n != 60 || broken != "" || !res.OK() || status != res.Summary() {
		t.Fatalf("intact: %d events, broken %q, status %q; want 60, none, %q", n, broken, status, res.Summary())
	}

	plain, vk2 := record(t, recording{name: "p.jsonl", events: 30, every: 10})
	ls := lines(t, plain[0])
	ls[4] = bytes.Replace(ls[4], []byte(`"pid":7003`), []byte(`"pid":7033`), 1) // the 4th event
	writeLines(t, plain[0], ls)
	n, broken, at, status := replayVerified(t, plain, &vk2)
	// Seal 0 covers the header and 9 events; the reader meets it on its
	// way to the 10th.
	want := "p.jsonl:5: part 1: record changed since it was sealed (sealed by seal 0, line 11)"
	if n != 30 || broken != want || at != 10 {
		t.Errorf("tampered: %d events, broken at event %d: %q; want 30, at 10: %q", n, at, broken, want)
	}
	off := len(bytes.Join(ls[:4], nil))
	if wantStatus := fmt.Sprintf("NOT verified: %s: line 5 (byte %d): part 1: record changed since it was sealed (sealed by seal 0, line 11)", plain[0], off); status != wantStatus {
		t.Errorf("status\n%s\nwant\n%s", status, wantStatus)
	}
}
