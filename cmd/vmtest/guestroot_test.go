package main

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"
)

// A Debian root as dpkg-deb -x leaves it: the loader a relative link in
// /lib, a library reached through an absolute link, and a link that climbs
// above the root, which the guest would stop at / too.
func TestGuestRootResolveFollowsLinksInsideTheRoot(t *testing.T) {
	dir := t.TempDir()
	mk := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(p, target string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", "loader")
	mk("usr/lib/aarch64-linux-gnu/libz.so.1.2.13", "zlib")
	mk("etc/passwd", "root")
	link("lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu/ld-linux-aarch64.so.1")
	link("lib/aarch64-linux-gnu/libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1.2.13")
	link("lib/up", "../../../../etc/passwd")
	link("lib/loop", "loop")
	r := guestRoot{dir: dir, arch: arches["arm64"]}

	for guest, want := range map[string]string{
		"/lib/ld-linux-aarch64.so.1":       "lib/aarch64-linux-gnu/ld-linux-aarch64.so.1",
		"/lib/aarch64-linux-gnu/libz.so.1": "usr/lib/aarch64-linux-gnu/libz.so.1.2.13",
		"/lib/up":                          "etc/passwd",
	} {
		got, err := r.resolve(guest)
		if err != nil || got != filepath.Join(dir, want) {
			t.Errorf("resolve(%s) = %q, %v; want %q", guest, got, err, filepath.Join(dir, want))
		}
	}
	if got, err := r.resolve("/lib/loop"); err == nil {
		t.Errorf("resolve of a link to itself = %q, want an error", got)
	}
	if got, err := r.resolve("/lib/missing.so"); err == nil {
		t.Errorf("resolve of a missing file = %q, want an error", got)
	}
	lib, err := r.findLibrary("libz.so.1")
	if err != nil || lib.guest != "/lib/aarch64-linux-gnu/libz.so.1" || lib.host != filepath.Join(dir, "usr/lib/aarch64-linux-gnu/libz.so.1.2.13") {
		t.Errorf("findLibrary(libz.so.1) = %+v, %v", lib, err)
	}
}

// Libraries have no loader of their own but need others (ip needs libelf,
// which needs libz): read from the ELF headers alone, the closure is the
// one the host's ldd lists for a host tool, with the host as the root.
func TestGuestRootSharedLibrariesMatchLdd(t *testing.T) {
	tool := ""
	for _, p := range []string{"/usr/bin/ip", "/bin/ip", "/usr/sbin/ip", "/usr/bin/unshare"} {
		if ok, err := isStatic(p); err == nil && !ok {
			tool = p
			break
		}
	}
	a, ok := arches[runtime.GOARCH]
	if tool == "" || !ok {
		t.Skip("no dynamically linked ip or unshare on this machine to try")
	}
	fromLdd, err := sharedLibraries([]string{tool})
	if err != nil {
		t.Fatal(err)
	}
	libs, err := guestRoot{dir: "/", arch: a}.sharedLibraries([]string{tool})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, l := range libs {
		got = append(got, filepath.Base(l.guest))
	}
	for _, l := range fromLdd {
		want = append(want, filepath.Base(l))
	}
	// The loader is named twice, by its path (PT_INTERP) and by libc
	// (DT_NEEDED), and lands at both paths: once is enough to compare.
	sort.Strings(got)
	got = slices.Compact(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("libraries of %s from ELF headers = %v, ldd lists %v", tool, got, want)
	}
}
