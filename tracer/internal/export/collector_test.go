package export_test

import (
	"testing"
	"time"
)

// waitFor polls cond until it holds or the bound passes.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
