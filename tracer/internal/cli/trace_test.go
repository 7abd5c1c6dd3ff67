package cli

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/ring"
)

func TestRingSizeParsingAndValidation(t *testing.T) {
	page := os.Getpagesize()
	for _, tc := range []struct {
		in   string
		want int    // 0: refused
		why  string // in the refusal
	}{
		{"16M", 16 << 20, ""},
		{"16MiB", 16 << 20, ""},
		{"4K", 4 << 10, ""},
		{"4096", 4096, ""},
		{"1G", 1 << 30, ""},
		{"2G", 1 << 31, ""},
		{"4G", 0, "more than the kernel's largest ring (2147483648, 2G)"},
		{"1099511627776", 0, "1099511627776 bytes is more than the kernel's largest ring"},
		{"1T", 0, "more than the kernel's largest ring"},
		{"3M", 0, "3145728 bytes is not a power of two"},
		{"12K", 0, "not a power of two"},
		{"2K", 0, "2048 bytes is less than a page (4096)"},
		{"1", 0, "less than a page"},
		{"0", 0, `"0": want a size such as 100M`},
		{"-4K", 0, "want a size such as 100M"},
		{"16Q", 0, "want a size such as 100M"},
		{"", 0, "want a size such as 100M"},
	} {
		if page != 4096 && tc.in == "2K" {
			continue
		}
		got, err := parseRingSize(tc.in)
		switch {
		case tc.want != 0 && (err != nil || got != tc.want):
			t.Errorf("--ring-size %q: %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.want == 0 && err == nil:
			t.Errorf("--ring-size %q: accepted as %d, want refused", tc.in, got)
		case tc.want == 0 && !strings.Contains(err.Error(), tc.why):
			t.Errorf("--ring-size %q: %v, want it to say %q", tc.in, err, tc.why)
		case tc.want == 0 && !errors.As(err, new(usageError)):
			t.Errorf("--ring-size %q: %v is not a usage error (exit 2)", tc.in, err)
		}
	}
	if err := ring.CheckSize(ring.MaxSize); err != nil {
		t.Errorf("the largest ring is refused: %v", err)
	}
}

// A bad ring size is refused before anything is loaded: one line, status 2.
func TestBadRingSizeGetsOneLineAndStatus2(t *testing.T) {
	for in, want := range map[string]string{
		"1099511627776": "nstrace: --ring-size: bad ring size: 1099511627776 bytes is more than the kernel's largest ring (2147483648, 2G)",
		"3M":            "nstrace: --ring-size: bad ring size: 3145728 bytes is not a power of two (e.g. 8M, 16M)",
	} {
		_, stderr, code := nstrace(t, nil, "trace", "--ring-size", in)
		if code != 2 || strings.TrimSpace(stderr) != want {
			t.Errorf("--ring-size %s: status %d, stderr %q; want 2 and %q", in, code, stderr, want)
		}
	}
}

func TestBadDrainTimeoutGetsOneLineAndStatus2(t *testing.T) {
	for in, want := range map[string]string{
		"-1s":  "nstrace: --drain-timeout -1s: want a duration of 0 or more",
		"soon": `nstrace: invalid argument "soon" for "--drain-timeout" flag: time: invalid duration "soon"`,
	} {
		_, stderr, code := nstrace(t, nil, "trace", "--drain-timeout", in)
		if code != 2 || strings.TrimSpace(stderr) != want {
			t.Errorf("--drain-timeout %s: status %d, stderr %q; want 2 and %q", in, code, stderr, want)
		}
	}
}
