package seal_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

// manualClock is a clock a test moves by hand.
type manualClock struct{ t time.Time }

func (c *manualClock) now() time.Time { return c.t }

// chainOnly records n events with a chain-only sealer (no key), flushing
// after each, while the clock moves a second per event.
func chainOnly(t *testing.T, name string, n int, c *manualClock) (*session.Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := session.Create(path, seal.Sealed(session.Options{Header: session.Header{Host: "h"}, Now: c.now},
		seal.NewSealer(nil, seal.Options{Now: c.now})))
	if err != nil {
		t.Fatal(err)
	}
	evs := events(n)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Second)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return w, path
}

// Without a key the chain is still written: verify checks its integrity,
// says it holds no key, and finds an edit; given a key, it says the
// recording can not be authenticated.
func TestAChainOnlyRecordingChecksIntegrity(t *testing.T) {
	c := &manualClock{t0}
	w, path := chainOnly(t, "c.jsonl", 3, c)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ls := lines(t, path)
	for _, l := range ls {
		if bytes.Contains(l, []byte(`"mac"`)) || bytes.Contains(l, []byte(`"key_id"`)) {
			t.Fatalf("a chain-only seal carries a key: %s", l)
		}
	}
	res := verify(t, []string{path}, nil)
	if !res.OK() || res.Records != 3 || res.Seals != 4 || res.ChainOnly != 4 {
		t.Fatalf("problems %v, records %d, seals %d (%d chain only); want none, 3, 4, 4", res.Problems, res.Records, res.Seals, res.ChainOnly)
	}
	want := "verified: 3 records sealed in 1 part by 4 seals, last seal at 2026-11-29T03:38:21Z; integrity only: no key (recorded without --seal-key-file)"
	if res.Summary() != want {
		t.Errorf("summary\n%s\nwant\n%s", res.Summary(), want)
	}
	_, vk := newKey(t)
	wantOnly(t, verify(t, []string{path}, &vk),
		"c.jsonl:3: part 1: seal 0 has no MAC: recorded without --seal-key-file, so only its integrity can be checked, not who wrote it")

	n := recordLines(ls)[1]
	ls[n-1] = bytes.Replace(ls[n-1], []byte(`"pid":7001`), []byte(`"pid":7011`), 1)
	writeLines(t, path, ls)
	wantOnly(t, verify(t, []string{path}, nil), "c.jsonl:4: part 1: record changed since it was sealed (sealed by seal 1, line 5)")
}

// A running recorder seals every epoch, records or none; a recording
// that stops without its trailer says how many epochs are missing from
// its last seal up to the time of verification, whether the recorder
// was killed or its tail deleted.
func TestMissingEpochsAreCountedUpToNow(t *testing.T) {
	c := &manualClock{t0}
	w, path := chainOnly(t, "k.jsonl", 2, c)
	for range 3 { // idle: a seal each second without records
		c.t = c.t.Add(time.Second)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(300 * time.Millisecond)
	if err := w.Flush(); err != nil { // within the epoch: no seal
		t.Fatal(err)
	}
	ls := lines(t, path)
	seals := 0
	for _, l := range ls {
		if bytes.HasPrefix(l, seal.SealPrefix) {
			seals++
			if !bytes.Contains(l, []byte(`"interval_ms":1000,`)) {
				t.Errorf("seal without its epoch: %s", l)
			}
		}
	}
	if seals != 5 {
		t.Fatalf("%d seals in 5 epochs, want 5:\n%s", seals, bytes.Join(ls, nil))
	}
	// Killed now (no Close): the last seal is at t0+5s; verified 95 s later.
	verifiedAt = t0.Add(100 * time.Second)
	defer func() { verifiedAt = t0.Add(time.Hour) }()
	wantOnly(t, verify(t, []string{path}, nil),
		"k.jsonl:8: part 1: no trailer after the last seal: the recorder stopped uncleanly, or what followed that seal was removed; "+
			"sealed until 2026-11-29T03:38:23Z, nothing after: 95 epochs of 1s missing up to now (2026-11-29T03:39:58Z)")

	// Root at t0+5.3s deletes the tail after the seal of t0+2s (line 5).
	writeLines(t, path, ls[:5])
	wantOnly(t, verify(t, []string{path}, nil),
		"k.jsonl:5: part 1: no trailer after the last seal: the recorder stopped uncleanly, or what followed that seal was removed; "+
			"sealed until 2026-11-29T03:38:20Z, nothing after: 98 epochs of 1s missing up to now (2026-11-29T03:39:58Z)")
}
