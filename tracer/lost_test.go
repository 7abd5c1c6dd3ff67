package tracer

import (
	"math"
	"testing"
)

// The per-CPU drop counters add up without wrapping.
func TestDropCountersSaturate(t *testing.T) {
	for _, c := range []struct {
		in   []uint64
		want uint64
	}{
		{nil, 0},
		{[]uint64{1, 2, 3}, 6},
		{[]uint64{math.MaxUint64 - 1, 1}, math.MaxUint64},
		{[]uint64{math.MaxUint64 - 1, 1, 1}, math.MaxUint64},
		{[]uint64{1 << 63, 1 << 63, 7}, math.MaxUint64},
	} {
		if got := sumCount(c.in); got != c.want {
			t.Errorf("sumCount(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}
