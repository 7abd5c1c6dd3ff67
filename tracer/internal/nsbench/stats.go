package nsbench

import (
	"slices"
	"time"
)

// median of the samples; 0 for none. Rounds are few and noisy: the median
// ignores the one a neighbour's burst spoiled.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

func medianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}

// spread is half the range of the samples relative to their median: a
// ratio closer to 1 than this says nothing.
func spread(xs []float64) float64 {
	m := median(xs)
	if len(xs) < 2 || m <= 0 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / 2 / m
}

// slowdown is how many times slower traced runs are than untraced ones:
// untraced ops/s ÷ traced ops/s. 0 when either is unknown.
func slowdown(untraced, traced float64) float64 {
	if untraced <= 0 || traced <= 0 {
		return 0
	}
	return untraced / traced
}

// order is the sequence of columns in round r: untraced first, then the
// tracers; reversed every other round (ABC CBA ...), so that a drift in the
// machine's speed weighs on every column alike.
func order(columns, r int) []int {
	idx := make([]int, columns)
	for i := range idx {
		idx[i] = i
	}
	if r%2 == 1 {
		slices.Reverse(idx)
	}
	return idx
}
