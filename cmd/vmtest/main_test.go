package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		test string
		rest []string
	}{
		{"a lone binary has no arguments", []string{"tracer.test"}, "tracer.test", []string{}},
		{"a -- after the binary is dropped", []string{"tracer.test", "--", "-test.v"}, "tracer.test", []string{"-test.v"}},
		{"arguments without -- are kept", []string{"tracer.test", "-test.v", "-test.count=1"}, "tracer.test", []string{"-test.v", "-test.count=1"}},
		{"only the first -- is dropped", []string{"busybox", "--", "--", "x"}, "busybox", []string{"--", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			test, rest, err := splitArgs(tt.args)
			if err != nil || test != tt.test || !slices.Equal(rest, tt.rest) {
				t.Errorf("splitArgs(%q) = %q, %q, %v; want %q, %q", tt.args, test, rest, err, tt.test, tt.rest)
			}
		})
	}
	if _, _, err := splitArgs(nil); err == nil {
		t.Error("splitArgs(nil) gave no error")
	}
}

func TestFileFlags(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  guestFile
		err   string
	}{
		{"a guest path is taken as given", "/tmp/nstrace:/usr/bin/nstrace", guestFile{"/tmp/nstrace", "/usr/bin/nstrace"}, ""},
		{"no guest path means /bin", "/tmp/build/nstrace", guestFile{"/tmp/build/nstrace", "/bin/nstrace"}, ""},
		{"the guest path is cleaned", "./x:/usr//bin/../sbin/x", guestFile{"./x", "/usr/sbin/x"}, ""},
		{"a bare name is found in PATH", "tool", guestFile{"$BIN/tool", "/bin/tool"}, ""},
		{"a bare name keeps its guest path", "tool:/usr/sbin/tool", guestFile{"$BIN/tool", "/usr/sbin/tool"}, ""},
		{"a bare name not in PATH is refused", "no-such-tool", guestFile{}, "executable file not found"},
		{"a relative guest path is refused", "./x:bin/x", guestFile{}, "not absolute"},
		{"an empty host path is refused", ":/bin/x", guestFile{}, "empty host path"},
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	for _, tt := range tests {
		tt.want.host = strings.Replace(tt.want.host, "$BIN", bin, 1)
		t.Run(tt.name, func(t *testing.T) {
			var f fileFlags
			err := f.Set(tt.value)
			if err == nil {
				err = f.resolve(lookHostTool)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Set(%q) = %v, want error containing %q", tt.value, err, tt.err)
				}
				return
			}
			if err != nil || len(f) != 1 || f[0] != tt.want {
				t.Errorf("Set(%q) = %v, %v; want %v", tt.value, f, err, tt.want)
			}
		})
	}
}
