package encode

import (
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

func TestAppendTimeOfDayMatchesTheTextLayout(t *testing.T) {
	tm := time.Date(2026, 11, 29, 3, 8, 1, 123456789, time.FixedZone("x", -7200))
	if got, want := string(AppendTimeOfDay(nil, tm)), tm.UTC().Format("15:04:05.000000"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
