package main

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
)

// sharedLibraries lists the loader and libraries that the dynamically
// linked binaries among paths need, as host paths. The guest gets each at
// the same path, so host tools (util-linux, iproute2) run there unchanged:
// without an ld.so.cache the loader searches /lib/x86_64-linux-gnu, where
// ldd finds them on Debian.
func sharedLibraries(paths []string) ([]string, error) {
	seen := map[string]bool{}
	for _, p := range paths {
		static, err := isStatic(p)
		if err != nil {
			return nil, err
		}
		if static {
			continue
		}
		out, err := exec.Command("ldd", p).Output()
		if err != nil {
			return nil, fmt.Errorf("ldd %s: %w", p, err)
		}
		libs, err := parseLdd(string(out))
		if err != nil {
			return nil, fmt.Errorf("ldd %s: %w", p, err)
		}
		for _, l := range libs {
			seen[l] = true
		}
	}
	libs := make([]string, 0, len(seen))
	for l := range seen {
		libs = append(libs, l)
	}
	sort.Strings(libs)
	return libs, nil
}

// parseLdd returns the files named in ldd's output:
//
//	linux-vdso.so.1 (0x00007ffd...)                       the vDSO: no file
//	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)  a library
//	/lib64/ld-linux-x86-64.so.2 (0x...)                   the loader
//	libfoo.so.1 => not found                              an error
func parseLdd(out string) ([]string, error) {
	var files []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, target, arrow := strings.Cut(line, " => ")
		if arrow {
			if strings.HasPrefix(target, "not found") {
				return nil, fmt.Errorf("library %s not found", name)
			}
			line = target
		}
		file, _, _ := strings.Cut(line, " (")
		if strings.HasPrefix(file, "/") {
			files = append(files, file)
		}
	}
	return files, nil
}

// isStatic reports whether the ELF file at path needs no dynamic loader.
// Files that are not ELF (scripts, data) are reported static: nothing
// about them stops them working in the guest.
func isStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	var formatErr *elf.FormatError
	if errors.As(err, &formatErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}
