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
	b = appendClock(append(b, 'T'), hour, min, sec)
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// appendClock appends "15:04:05.", the fraction's digits left to the caller.
func appendClock(b []byte, hour, min, sec int) []byte {
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	return append(b, '.')
}

// appendDigits appends v zero-padded to width digits, two at a time: the
// nanoseconds of every event's time go through it.
func appendDigits(b []byte, v, width int) []byte {
	var buf [9]byte
	i := width
	for ; i >= 2; i -= 2 {
		d := v % 100 * 2
		v /= 100
		buf[i-2], buf[i-1] = pairs[d], pairs[d+1]
	}
	if i == 1 {
		buf[0] = byte('0' + v%10)
	}
	return append(b, buf[:width]...)
}

// pairs holds "00" to "99".
const pairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// AppendTimeOfDay appends t's UTC time of day with microseconds
// ("15:04:05.000000"), the time column of the text output.
func AppendTimeOfDay(b []byte, t time.Time) []byte {
	hour, min, sec := t.UTC().Clock()
	return appendDigits(appendClock(b, hour, min, sec), t.Nanosecond()/1000, 6)
}

// Times appends times as AppendTime does, remembering the second it wrote
// last: a stream of events mostly shares its second with the one before,
// and then only the nanoseconds are formatted. The zero value is ready.
type Times struct {
	sec    int64    // Unix second of prefix
	prefix [20]byte // "2006-01-02T15:04:05."
	ok     bool
}

// Append appends t in UTC in TimeLayout.
func (c *Times) Append(b []byte, t time.Time) []byte {
	if sec := t.Unix(); !c.ok || sec != c.sec {
		var tmp [len(TimeLayout)]byte
		full := AppendTime(tmp[:0], t)
		// "2006-01-02T15:04:05.000000000Z": else a year past 9999, or
		// before 0, written in full every time.
		if c.ok = len(full) == len(c.prefix)+len("000000000Z"); c.ok {
			c.sec = sec
			copy(c.prefix[:], full)
		}
		return append(b, full...)
	}
	n := len(b) + len(c.prefix)
	b = append(append(b, c.prefix[:]...), "000000000Z"...)
	putNanos((*[9]byte)(b[n:]), uint32(t.Nanosecond()))
	return b
}

// putNanos writes v, below 10^9, as nine digits into d, in place: the
// digits of every event's time, not built on the stack and copied.
func putNanos(d *[9]byte, v uint32) {
	for i := 7; i > 0; i -= 2 {
		p := v % 100 * 2
		v /= 100
		d[i], d[i+1] = pairs[p], pairs[p+1]
	}
	d[0] = byte('0' + v)
}
