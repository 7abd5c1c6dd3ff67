package render

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize returns s safe to print on a terminal: control characters,
// invisible or direction-changing runes and invalid UTF-8 are written as
// escapes (\n, \x1b, \u202e) and a backslash as \\, so the result reads
// unambiguously. A clean string is returned as is, without allocating.
func Sanitize(s string) string {
	for i := 0; i < len(s); i++ {
		if !plain(s[i]) {
			return string(AppendSanitized(make([]byte, 0, len(s)+8), s))
		}
	}
	return s
}

// AppendQuoted appends s in double quotes, escaped as by Sanitize and with
// quotes escaped too, so a name cannot close its quotes and fake a label
// such as `" (host)`.
func AppendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = AppendSanitized(b, s[:i])
		b = append(b, '\\', '"')
		s = s[i+1:]
	}
	b = AppendSanitized(b, s)
	return append(b, '"')
}

// AppendSanitized appends s escaped as by Sanitize.
func AppendSanitized(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if plain(c) {
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
		case r == utf8.RuneError && size == 1, r < utf8.RuneSelf:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		case !unicode.IsPrint(r) && r > 0xffff:
			b = append(b, '\\', 'U')
			b = appendHex(b, uint32(r), 8)
		case !unicode.IsPrint(r):
			b = append(b, '\\', 'u')
			b = appendHex(b, uint32(r), 4)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

func appendHex(b []byte, v uint32, digits int) []byte {
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b = append(b, hexDigits[v>>shift&0xf])
	}
	return b
}

// plain reports whether byte c prints as itself.
func plain(c byte) bool { return c >= 0x20 && c < 0x7f && c != '\\' }

const hexDigits = "0123456789abcdef"
