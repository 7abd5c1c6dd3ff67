package export

import (
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting, so a corrupt record cannot exhaust the stack.
const maxDepth = 32

// jsonWire transcodes one spooled record's JSON object into an OTLP
// LogRecord without building anything in between: the body as AnyValue
// (objects as key-value lists, arrays as arrays, integers as int_value,
// other numbers as double_value, integers past int64 as the string of
// their digits, null as an empty value), and the top-level fields the
// attributes are read from. It allocates nothing once its buffers grew.
type jsonWire struct {
	b    []byte // the JSON
	i    int
	top  []fieldSpan // the top-level fields, for the attributes
	memo *valueMemo  // nil: none

	// With the memo: how many top-level fields are ones the attributes
	// are read from (attrSource), whether one of them was not copied from
	// the last record, and so whether they are all the same as its.
	sources     int
	freshSource bool
	sameAttrs   bool
}

// field returns the raw JSON of the top-level field k; nil when absent.
// Keys are compared raw: nstrace's have no escapes.
func (w *jsonWire) field(k string) []byte {
	for i := range w.top {
		if f := &w.top[i]; string(w.b[f.start+1:f.keyEnd]) == k {
			return w.b[f.val:f.valEnd]
		}
	}
	return nil
}

func (w *jsonWire) space() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\n' || w.b[w.i] == '\t' || w.b[w.i] == '\r') {
		w.i++
	}
}

// value appends the AnyValue fields of the JSON value at w.i to out.
func (w *jsonWire) value(out []byte, depth int) ([]byte, bool) {
	w.space()
	if w.i >= len(w.b) || depth > maxDepth {
		return out, false
	}
	switch c := w.b[w.i]; {
	case c == '{':
		return w.object(out, depth)
	case c == '[':
		w.i++
		out, mark := openField(out, fAVArray)
		w.space()
		if w.i < len(w.b) && w.b[w.i] == ']' {
			w.i++
			return closeField(out, mark), true
		}
		for {
			var m int
			var ok bool
			out, m = openField(out, fValues)
			if out, ok = w.value(out, depth+1); !ok {
				return out, false
			}
			out = closeField(out, m)
			if !w.next(']') {
				return out, false
			}
			if w.b[w.i-1] == ']' {
				return closeField(out, mark), true
			}
		}
	case c == '"':
		out, mark := openField(out, fAVString)
		out, ok := w.str(out)
		return closeField(out, mark), ok
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(w.b)-w.i >= len(lit) && string(w.b[w.i:w.i+len(lit)]) == lit {
				w.i += len(lit)
				switch lit {
				case "true":
					return appendVarintField(out, fAVBool, 1), true
				case "false":
					return appendVarintField(out, fAVBool, 0), true
				}
				return out, true // null: an empty AnyValue
			}
		}
		return out, false
	case c == '-' || (c >= '0' && c <= '9'):
		start := w.i
		w.i++
		for w.i < len(w.b) && (w.b[w.i] >= '0' && w.b[w.i] <= '9' || w.b[w.i] == '.' || w.b[w.i] == 'e' ||
			w.b[w.i] == 'E' || w.b[w.i] == '+' || w.b[w.i] == '-') {
			w.i++
		}
		return appendNumber(out, w.b[start:w.i])
	}
	return out, false
}

// appendNumber writes a JSON number: int_value when it is an int64, the
// string of its digits when a larger integer, else double_value.
func appendNumber(out, num []byte) ([]byte, bool) {
	if n, ok := parseInt(num); ok {
		return appendVarintField(out, fAVInt, uint64(n)), true
	}
	s := string(num)
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return appendBytesField(out, fAVString, num), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange { // past float64 too: keep the digits
			return appendBytesField(out, fAVString, num), true
		}
		return out, false
	}
	return appendFixed64Field(out, fAVDouble, math.Float64bits(f)), true
}

// parseInt reads a decimal int64 without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || (len(b) > 1 && b[0] == '0') {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// object writes the object at w.i as a key-value list; at depth 0 it
// also notes the fields in w.top.
func (w *jsonWire) object(out []byte, depth int) ([]byte, bool) {
	w.i++
	if depth == 0 && w.memo != nil {
		return w.recordObject(out)
	}
	out, mark := openField(out, fAVKvlist)
	w.space()
	if w.i < len(w.b) && w.b[w.i] == '}' {
		w.i++
		return closeField(out, mark), true
	}
	for {
		w.space()
		keyStart := w.i
		var kv, km, m int
		var ok bool
		out, kv = openField(out, fValues)
		out, km = openField(out, fKVKey)
		if out, ok = w.str(out); !ok {
			return out, false
		}
		out = closeField(out, km)
		key := w.b[keyStart+1 : w.i-1]
		w.space()
		if w.i >= len(w.b) || w.b[w.i] != ':' {
			return out, false
		}
		w.i++
		w.space()
		valStart := w.i
		out, m = openField(out, fKVValue)
		if out, ok = w.value(out, depth+1); !ok {
			return out, false
		}
		out = closeField(out, m)
		out = closeField(out, kv)
		if depth == 0 {
			w.top = append(w.top, fieldSpan{start: int32(keyStart), keyEnd: int32(keyStart + 1 + len(key)),
				val: int32(valStart), valEnd: int32(w.i)})
		}
		if !w.next('}') {
			return out, false
		}
		if w.b[w.i-1] == '}' {
			return closeField(out, mark), true
		}
	}
}

// next steps over the comma or the closing delimiter after an element.
func (w *jsonWire) next(end byte) bool {
	w.space()
	if w.i < len(w.b) && (w.b[w.i] == ',' || w.b[w.i] == end) {
		w.i++
		return true
	}
	return false
}

// str appends the JSON string at w.i to out, unescaped.
func (w *jsonWire) str(out []byte) ([]byte, bool) {
	if w.i >= len(w.b) || w.b[w.i] != '"' {
		return out, false
	}
	w.i++
	for w.i < len(w.b) {
		start := w.i
		for w.i < len(w.b) && w.b[w.i] != '"' && w.b[w.i] != '\\' {
			w.i++
		}
		out = append(out, w.b[start:w.i]...)
		if w.i >= len(w.b) {
			return out, false
		}
		if w.b[w.i] == '"' {
			w.i++
			return out, true
		}
		if w.i+1 >= len(w.b) {
			return out, false
		}
		esc := w.b[w.i+1]
		w.i += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := w.hex4()
			if !ok {
				return out, false
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; a lone half is U+FFFD and what
				// follows it is read on its own, as encoding/json does.
				pair := utf8.RuneError
				if w.i+5 < len(w.b) && w.b[w.i] == '\\' && w.b[w.i+1] == 'u' {
					w.i += 2
					r2, ok := w.hex4()
					if pair = utf16.DecodeRune(r, r2); !ok || pair == utf8.RuneError {
						w.i -= 6
					}
				}
				r = pair
			}
			out = utf8.AppendRune(out, r)
		default:
			return out, false
		}
	}
	return out, false
}

func (w *jsonWire) hex4() (rune, bool) {
	if len(w.b)-w.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range w.b[w.i : w.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	w.i += 4
	return r, true
}

// parseTime reads the RFC 3339 UTC times nstrace writes
// (2026-11-29T23:52:46.805219223Z) without allocating; other forms go
// through time.Parse.
func parseTime(b []byte) (time.Time, bool) {
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z' {
		y, ok1 := num(b[0:4])
		mo, ok2 := num(b[5:7])
		d, ok3 := num(b[8:10])
		h, ok4 := num(b[11:13])
		mi, ok5 := num(b[14:16])
		s, ok6 := num(b[17:19])
		frac := b[19 : len(b)-1]
		ns := 0
		ok7 := len(frac) == 0 || (frac[0] == '.' && len(frac) >= 2 && len(frac) <= 10)
		if ok7 && len(frac) > 0 {
			ns, ok7 = num(frac[1:])
			for range 10 - len(frac) {
				ns *= 10
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}
