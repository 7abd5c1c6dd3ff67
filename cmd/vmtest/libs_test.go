package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseLdd(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want []string
		err  string
	}{
		{
			"libraries and the loader are listed, the vDSO is not",
			"\tlinux-vdso.so.1 (0x00007ffd2b3f1000)\n" +
				"\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007fd81b555000)\n" +
				"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fd81b373000)\n" +
				"\t/lib64/ld-linux-x86-64.so.2 (0x00007fd81b5a2000)\n",
			[]string{"/lib/x86_64-linux-gnu/libselinux.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"},
			"",
		},
		{
			"a static binary needs nothing",
			"\tnot a dynamic executable\n",
			nil,
			"",
		},
		{
			"a missing library is an error",
			"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n\tlibseccomp.so.2 => not found\n",
			nil,
			"libseccomp.so.2 not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLdd(tt.out)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseLdd = %v, want error containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("parseLdd = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSharedLibrariesOfAHostTool(t *testing.T) {
	tool := ""
	for _, p := range []string{"/usr/bin/unshare", "/bin/ls", "/usr/bin/ls"} {
		if ok, err := isStatic(p); err == nil && !ok {
			tool = p
			break
		}
	}
	if tool == "" {
		t.Skip("no dynamically linked unshare or ls on this machine to try")
	}
	libs, err := sharedLibraries([]string{tool, tool})
	if err != nil {
		t.Fatal(err)
	}
	hasLibc := slices.ContainsFunc(libs, func(l string) bool { return strings.HasSuffix(l, "/libc.so.6") })
	if !hasLibc || !slices.IsSorted(libs) || len(slices.Compact(slices.Clone(libs))) != len(libs) {
		t.Errorf("sharedLibraries(%s twice) = %q, want a sorted, unique list holding libc.so.6", tool, libs)
	}
}
