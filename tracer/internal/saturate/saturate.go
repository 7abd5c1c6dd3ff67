// Package saturate adds counts that must never wrap.
package saturate

import (
	"math"
	"math/bits"
)

// AddCount adds n to a running count that must never wrap, such as records
// lost: past math.MaxUint64 it stays there, and saturated says so, so that
// 2^64-1 lost plus 1 reads as "at least 2^64-1" rather than 0.
func AddCount(total, n uint64) (sum uint64, saturated bool) {
	sum, carry := bits.Add64(total, n, 0)
	if carry != 0 {
		return math.MaxUint64, true
	}
	return sum, false
}
