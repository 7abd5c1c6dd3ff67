package nsbench

import (
	"slices"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"no samples give 0", nil, 0},
		{"an odd count takes the middle, whatever the order", []float64{731_000, 244_000, 702_500}, 702_500},
		{"an even count averages the middle two", []float64{8_320, 7_560, 7_000, 8_100}, 7_830},
		{"one spoiled round does not move it", []float64{1_230_000, 1_228_000, 282_235}, 1_228_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.xs)
			if got := median(tt.xs); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
			}
			if !slices.Equal(in, tt.xs) {
				t.Errorf("median reordered its input: %v", tt.xs)
			}
		})
	}
}

func TestMedianDuration(t *testing.T) {
	got := medianDuration([]time.Duration{148 * time.Millisecond, 122 * time.Millisecond, 1402 * time.Millisecond})
	if got != 148*time.Millisecond {
		t.Errorf("medianDuration = %v, want 148ms", got)
	}
}

func TestSlowdown(t *testing.T) {
	tests := []struct {
		name             string
		untraced, traced float64
		want             float64
	}{
		{"the issue's setns peer: 730k/s untraced, 60k/s traced", 730_000, 60_082, 730_000 / 60_082.0},
		{"no slowdown is 1", 170, 170, 1},
		{"a traced run that was faster gives less than 1", 4_983, 6_076, 4_983 / 6_076.0},
		{"an unmeasured column gives 0", 730_000, 0, 0},
		{"an unmeasured baseline gives 0", 0, 60_000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slowdown(tt.untraced, tt.traced); got != tt.want {
				t.Errorf("slowdown(%v, %v) = %v, want %v", tt.untraced, tt.traced, got, tt.want)
			}
		})
	}
}

func TestOrderAlternatesAndReverses(t *testing.T) {
	want := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 1, 2, 3}}
	for r, w := range want {
		if got := order(4, r); !slices.Equal(got, w) {
			t.Errorf("order(4, %d) = %v, want %v", r, got, w)
		}
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"the quiet run's fork rounds: ±6 %", []float64{4_839, 4_368, 4_922}, (4_922 - 4_368) / 2 / 4_839.0},
		{"one sample has no spread", []float64{4_839}, 0},
		{"equal samples have none", []float64{170, 170}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spread(tt.xs); got != tt.want {
				t.Errorf("spread(%v) = %v, want %v", tt.xs, got, tt.want)
			}
		})
	}
}
