package render

import "testing"

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text is untouched", "sample1", "sample1"},
		{"an OSC title sequence is defused", "\x1b]0;x\a", `\x1b]0;x\x07`},
		{"newlines and tabs are escaped", "a\nb\tc\r", `a\nb\tc\r`},
		{"a backslash is doubled so escapes stay unambiguous", `a\x1b`, `a\\x1b`},
		{"invalid UTF-8 is shown byte by byte", "a\xff\xfeb", `a\xff\xfeb`},
		{"DEL and C1 controls are escaped", "\x7f\u009b", `\x7f\u009b`},
		{"bidi overrides are escaped", "abc\u202edef", `abc\u202edef`},
		{"printable Unicode stays", "café 日本", "café 日本"},
		{"non-printable astral runes get a long escape", "\U000e0001", `\U000e0001`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSanitizeDoesNotAllocateForCleanText(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = Sanitize("kthreadd") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
