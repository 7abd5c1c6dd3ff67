package encode

import "time"

// TimeLayout is RFC 3339 in UTC with fixed nanoseconds, so lines align.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AppendTime appends t in UTC as TimeLayout does ("2006-01-02T15:04:05.000000000Z").
// It writes the one layout by hand because time.AppendFormat, being general,
// costs a large share of encoding an event.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// appendDigits appends v zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var buf [9]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}

// AppendTimeOfDay appends t's UTC time of day with microseconds
// ("15:04:05.000000"), the time column of the text output.
func AppendTimeOfDay(b []byte, t time.Time) []byte {
	hour, min, sec := t.UTC().Clock()
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	return appendDigits(b, t.Nanosecond()/1000, 6)
}
