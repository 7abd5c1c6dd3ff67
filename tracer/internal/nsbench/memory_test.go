package nsbench

import (
	"slices"
	"strings"
	"testing"
)

func TestSamplePoints(t *testing.T) {
	tests := []struct {
		name         string
		target, step int64
		want         []int64
	}{
		{"every million up to five", 5_000_000, 1_000_000, []int64{1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000}},
		{"the target itself when it is no multiple", 250_000, 100_000, []int64{100_000, 200_000, 250_000}},
		{"only the target without a step", 5_000_000, 0, []int64{5_000_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := samplePoints(tt.target, tt.step); !slices.Equal(got, tt.want) {
				t.Errorf("samplePoints(%d, %d) = %v, want %v", tt.target, tt.step, got, tt.want)
			}
		})
	}
}

func TestFlat(t *testing.T) {
	mib := func(ms ...float64) []rssSample {
		var s []rssSample
		for i, m := range ms {
			s = append(s, rssSample{Events: int64(i+1) * 1_000_000, RSSKiB: int64(m * 1024)})
		}
		return s
	}
	tests := []struct {
		name    string
		samples []rssSample
		want    bool
	}{
		{"steady memory is flat", mib(37.0, 37.0, 37.0, 36.7, 37.1), true},
		{"10 % growth is still flat", mib(40, 42, 44), true},
		{"growth past 10 % is not", mib(40, 45, 48), false},
		{"over 64 MiB is not, however steady", mib(70, 70, 70), false},
		{"no samples prove nothing", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flat(tt.samples); got != tt.want {
				t.Errorf("flat = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tnstrace\nVmPeak:\t 1799580 kB\nVmRSS:\t   26364 kB\nRssAnon:\t   12000 kB\n"
	got, err := parseVmRSS(strings.NewReader(status))
	if err != nil || got != 26364 {
		t.Errorf("parseVmRSS = %d, %v; want 26364", got, err)
	}
	if _, err := parseVmRSS(strings.NewReader("Name:\tkworker/0:1\n")); err == nil {
		t.Error("a kernel thread's status (no VmRSS) gave no error")
	}
}
