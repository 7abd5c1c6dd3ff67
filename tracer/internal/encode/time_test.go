package encode

import (
	"fmt"
	"testing"
	"time"
)

func TestAppendTimeMatchesTheLayout(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 29, 3, 38, 18, 123456789, time.UTC),
		time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)),
		time.Date(12026, 1, 1, 0, 0, 0, 5, time.UTC),
		time.Unix(0, 0),
	} {
		if got, want := string(AppendTime(nil, tm)), tm.UTC().Format(TimeLayout); got != want {
			t.Errorf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// appendDigits writes every width and digit as strconv would, zero-padded.
func TestAppendDigitsPadsEveryWidth(t *testing.T) {
	for width := 1; width <= 9; width++ {
		limit := 1
		for range width {
			limit *= 10
		}
		for _, v := range []int{0, 1, 7, 9, 10, 42, 99, 100, 305, 999, 1000, 4096, 99999, 123456, 1000000, 87654321, 999999999} {
			if v >= limit {
				continue
			}
			want := fmt.Sprintf("%0*d", width, v)
			if got := string(appendDigits([]byte("x"), v, width)); got != "x"+want {
				t.Errorf("appendDigits(%d, %d) = %q, want %q", v, width, got, "x"+want)
			}
		}
	}
}

func TestAppendTimeOfDayMatchesTheTextLayout(t *testing.T) {
	tm := time.Date(2026, 11, 29, 3, 8, 1, 123456789, time.FixedZone("x", -7200))
	if got, want := string(AppendTimeOfDay(nil, tm)), tm.UTC().Format("15:04:05.000000"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// Times writes what AppendTime writes, within a second, across seconds, and
// for years AppendTime writes in full.
func TestTimesMatchAppendTime(t *testing.T) {
	var c Times
	base := time.Date(2026, 11, 29, 23, 59, 58, 999999990, time.UTC)
	var times []time.Time
	for i := range 40 {
		times = append(times, base.Add(time.Duration(i)*time.Nanosecond*3))
	}
	times = append(times, base.Add(time.Second), base, base.Add(-time.Hour),
		time.Date(12026, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(12026, 1, 1, 0, 0, 0, 6, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)), time.Unix(0, 0), time.Unix(0, 1))
	for _, tm := range times {
		if got, want := string(c.Append([]byte("x"), tm)), "x"+string(AppendTime(nil, tm)); got != want {
			t.Fatalf("Append(%v) = %s, want %s", tm, got, want)
		}
	}
}

func BenchmarkTimes(b *testing.B) {
	var c Times
	buf := make([]byte, 0, 64)
	at := time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = c.Append(buf[:0], at.Add(time.Duration(i)*time.Microsecond))
	}
}

func BenchmarkAppendTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	at := time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendTime(buf[:0], at.Add(time.Duration(i)*time.Microsecond))
	}
}
