package export

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// decodeJSON reads one JSON value as structured values: objects become
// maps, arrays slices, integers int64 (past its range, strings of their
// digits), other numbers float64 (past its range, strings), null an empty
// value. It is a small
// parser of its own: encoding/json's token API cost more per record than
// everything else the sender does.
func decodeJSON(b []byte) (attribute.Value, error) {
	v, _, err := decodeJSONObject(b)
	return v, err
}

// decodeJSONObject is decodeJSON that also returns the fields of the
// top-level object as parsed (Value.AsMap would copy them again).
func decodeJSONObject(b []byte) (attribute.Value, []attribute.KeyValue, error) {
	p := jsonParser{b: b}
	v, ok := p.value(0)
	p.space()
	if !ok || p.i != len(b) {
		return attribute.Value{}, nil, errBadBody
	}
	return v, p.top, nil
}

// maxDepth bounds nesting, so a corrupt record cannot exhaust the stack.
const maxDepth = 32

type jsonParser struct {
	b   []byte
	i   int
	top []attribute.KeyValue // the outermost object's fields
}

func (p *jsonParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonParser) value(depth int) (attribute.Value, bool) {
	p.space()
	if p.i >= len(p.b) || depth > maxDepth {
		return attribute.Value{}, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		var kvs []attribute.KeyValue
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return attribute.MapValue(), true
		}
		for {
			p.space()
			k, ok := p.str()
			if !ok {
				return attribute.Value{}, false
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return attribute.Value{}, false
			}
			p.i++
			v, ok := p.value(depth + 1)
			if !ok {
				return attribute.Value{}, false
			}
			kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(k), Value: v})
			if !p.next('}') {
				return attribute.Value{}, false
			}
			if p.b[p.i-1] == '}' {
				if depth == 0 {
					p.top = kvs
				}
				return attribute.MapValue(kvs...), true
			}
		}
	case c == '[':
		p.i++
		var vs []attribute.Value
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return attribute.SliceValue(), true
		}
		for {
			v, ok := p.value(depth + 1)
			if !ok {
				return attribute.Value{}, false
			}
			vs = append(vs, v)
			if !p.next(']') {
				return attribute.Value{}, false
			}
			if p.b[p.i-1] == ']' {
				return attribute.SliceValue(vs...), true
			}
		}
	case c == '"':
		s, ok := p.str()
		return attribute.StringValue(s), ok
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
				p.i += len(lit)
				switch lit {
				case "true":
					return attribute.BoolValue(true), true
				case "false":
					return attribute.BoolValue(false), true
				}
				return attribute.Value{}, true
			}
		}
		return attribute.Value{}, false
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		p.i++
		for p.i < len(p.b) && (p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] == '.' || p.b[p.i] == 'e' ||
			p.b[p.i] == 'E' || p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		num := string(p.b[start:p.i])
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			return attribute.Int64Value(n), true
		}
		if _, err := strconv.ParseUint(num, 10, 64); err == nil {
			return attribute.StringValue(num), true
		}
		f, err := strconv.ParseFloat(num, 64)
		if errors.Is(err, strconv.ErrRange) { // past float64 too: keep the digits
			return attribute.StringValue(num), true
		}
		return attribute.Float64Value(f), err == nil
	}
	return attribute.Value{}, false
}

// next steps over the comma or the closing delimiter after an element.
func (p *jsonParser) next(end byte) bool {
	p.space()
	if p.i < len(p.b) && (p.b[p.i] == ',' || p.b[p.i] == end) {
		p.i++
		return true
	}
	return false
}

// str reads a JSON string at p.i, unescaping it.
func (p *jsonParser) str() (string, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	p.i++
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' && p.b[p.i] != '\\' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '"' { // no escapes: the common case
		s := string(p.b[start:p.i])
		p.i++
		return s, true
	}
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), true
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return "", false
		}
		esc := p.b[p.i+1]
		p.i += 2
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
			r, ok := p.hex4()
			if !ok {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; a lone half is U+FFFD and what
				// follows it is read on its own, as encoding/json does.
				pair := utf8.RuneError
				if p.i+5 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					p.i += 2
					r2, ok := p.hex4()
					if pair = utf16.DecodeRune(r, r2); !ok || pair == utf8.RuneError {
						p.i -= 6
					}
				}
				r = pair
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	p.i += 4
	return rune(n), err == nil
}
