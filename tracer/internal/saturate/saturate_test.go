package saturate

import (
	"math"
	"testing"
)

func TestAddCountSaturates(t *testing.T) {
	for _, c := range []struct {
		a, b, sum uint64
		sat       bool
	}{
		{0, 0, 0, false},
		{1, 2, 3, false},
		{math.MaxUint64 - 1, 1, math.MaxUint64, false},
		{math.MaxUint64, 0, math.MaxUint64, false},
		{math.MaxUint64, 1, math.MaxUint64, true},
		{1, math.MaxUint64, math.MaxUint64, true},
		{math.MaxUint64, math.MaxUint64, math.MaxUint64, true},
		{1 << 63, 1 << 63, math.MaxUint64, true},
	} {
		if sum, sat := AddCount(c.a, c.b); sum != c.sum || sat != c.sat {
			t.Errorf("AddCount(%d, %d) = %d, %v; want %d, %v", c.a, c.b, sum, sat, c.sum, c.sat)
		}
	}
}
