package nsbench

import "testing"

func TestOtlpLosses(t *testing.T) {
	for _, c := range []struct {
		stderr  string
		lost    int64
		pending bool
	}{
		{"nstrace: 368972 events, 0 lost\n", 0, false},
		{"nstrace: 368972 events, 0 lost\nnstrace: otlp: 221659 records sent, 147329 dropped from the full spool, 3 rejected by the collector\n", 147332, false},
		{"nstrace: 10 events, 0 lost\nnstrace: otlp: 4 records not yet acknowledged stay in the spool /tmp/s for the next start\n", 0, true},
	} {
		lost, pending := otlpLosses(c.stderr)
		if lost != c.lost || pending != c.pending {
			t.Errorf("otlpLosses(%q) = %d, %v; want %d, %v", c.stderr, lost, pending, c.lost, c.pending)
		}
	}
}
