package render

import (
	"unicode"
	"unicode/utf8"
)

// AppendSanitized appends s with every control or invisible character
// written as an escape (\x1b, \n, \u200e), so text that a process or a
// namespace name carries can never drive the terminal.
func AppendSanitized(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\r':
			b = append(b, '\\', 'r')
		case r == utf8.RuneError && size == 1, r < 0x80:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		case !unicode.IsPrint(r):
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// Sanitize returns s escaped as by AppendSanitized.
func Sanitize(s string) string { return string(AppendSanitized(nil, s)) }

const hex = "0123456789abcdef"
