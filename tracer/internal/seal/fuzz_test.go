package seal_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

// FuzzVerifier feeds verify damaged recordings: it must report, never panic.
// It checks the chain only: with a key, a seal number the fuzzer makes huge
// costs seconds of key derivation (bounded by maxDerive), which would
// slow fuzzing to a crawl.
func FuzzVerifier(f *testing.F) {
	dir := f.TempDir()
	keyPath := dir + "/k"
	if _, err := seal.CreateKeyFile(keyPath); err != nil {
		f.Fatal(err)
	}
	rk, err := seal.TakeRunKey(keyPath)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	now := clock()
	w, err := session.NewWriter(&buf, seal.Sealed(session.Options{Header: session.Header{Host: "h"}, Now: now},
		seal.NewSealer(&rk, seal.Options{Every: 3, Now: now})))
	if err != nil {
		f.Fatal(err)
	}
	evs := events(8)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			f.Fatal(err)
		}
	}
	w.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		path := t.TempDir() + "/f.jsonl"
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := seal.VerifyFiles([]string{path}, nil, nil)
		if err == nil && res.OK() && (res.Seals == 0 || len(res.Problems) > 0) {
			t.Errorf("OK with %d seals and problems %v", res.Seals, res.Problems)
		}
	})
}
