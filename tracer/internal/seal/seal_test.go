package seal_test

import (
	"strings"
	"testing"
)

func TestIntactRecordingsVerify(t *testing.T) {
	for _, name := range []string{"r.jsonl", "r.jsonl.gz", "r.jsonl.zst"} {
		t.Run(name, func(t *testing.T) {
			files, vk := record(t, recording{name: name, events: 100, rotateSize: rotateSize(name), every: 10, flushEvery: 10})
			if len(files) < 3 {
				t.Fatalf("%d parts, want several", len(files))
			}
			res := verify(t, files, &vk)
			if !res.OK() {
				t.Fatalf("problems: %v", res.Problems)
			}
			if res.Records != 100 || res.Parts != len(files) {
				t.Errorf("records %d parts %d, want 100 and %d", res.Records, res.Parts, len(files))
			}
			if !strings.HasPrefix(res.Summary(), "verified: 100 records sealed in ") || !strings.Contains(res.Summary(), "authentic (key "+vk.ID()+")") {
				t.Errorf("summary %q", res.Summary())
			}
		})
	}
}

// rotateSize makes several parts of 100 events, compressed or not.
func rotateSize(name string) int64 {
	if strings.HasSuffix(name, ".jsonl") {
		return 4096
	}
	return 1024
}
