package main

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// guestPackages are the Debian packages a foreign guest's tools come from:
// the clients the kernel tests drive (util-linux, iproute2, coreutils'
// readlink), the runtimes (runc, bubblewrap), a shell (dash) and the
// static busybox.
var guestPackages = []string{"util-linux", "iproute2", "coreutils", "runc", "bubblewrap", "dash", "busybox-static"}

// guestRoot is a root file system of a foreign architecture, unpacked
// from Debian packages and their dependencies: the host's tools and
// libraries cannot run in such a guest, so it takes its tools from here,
// each with the libraries its ELF headers name.
type guestRoot struct {
	dir  string
	arch arch
}

// makeGuestRoot unpacks pkgs and everything they depend on into the cache
// once per set of packages, with a private apt root, never installing them.
func makeGuestRoot(a arch, cache string, pkgs []string) (guestRoot, error) {
	sorted := append([]string(nil), pkgs...)
	sort.Strings(sorted)
	sum := sha256.Sum256([]byte(strings.Join(sorted, " ")))
	r := guestRoot{dir: filepath.Join(cache, "root-"+a.name, hex.EncodeToString(sum[:6])), arch: a}
	if _, err := os.Stat(r.dir); err == nil {
		fmt.Printf("vmtest: %s root file system cached in %s\n", a.name, r.dir)
		return r, nil
	}
	apt, err := newAptRoot(cache, a.name)
	if err != nil {
		return r, err
	}
	if err := apt.update(); err != nil {
		return r, err
	}
	if err := os.MkdirAll(filepath.Dir(r.dir), 0o755); err != nil {
		return r, err
	}
	work, err := os.MkdirTemp(filepath.Dir(r.dir), ".unpack-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(work)
	debs, err := downloadPackages(apt, a, sorted, filepath.Join(work, "archives"))
	if err != nil {
		return r, err
	}
	tree := filepath.Join(work, "root")
	if err := unpackDebs(debs, tree); err != nil {
		return r, err
	}
	return r, cacheRoot(tree, r)
}

// downloadPackages downloads pkgs and everything they depend on into
// archives, and gives the .deb files.
func downloadPackages(apt aptRoot, a arch, pkgs []string, archives string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(archives, "partial"), 0o755); err != nil {
		return nil, err
	}
	fmt.Printf("vmtest: downloading %s for %s\n", strings.Join(pkgs, " "), a.name)
	args := append([]string{"-o", "Dir::Cache::archives=" + archives,
		"install", "-y", "--download-only", "--no-install-recommends"}, pkgs...)
	if err := apt.run("", "apt-get", args...); err != nil {
		return nil, err
	}
	debs, _ := filepath.Glob(filepath.Join(archives, "*.deb"))
	if len(debs) == 0 {
		return nil, fmt.Errorf("apt-get downloaded no %s packages", a.name)
	}
	return debs, nil
}

// unpackDebs unpacks each of debs into tree.
func unpackDebs(debs []string, tree string) error {
	for _, deb := range debs {
		// -x unpacks the files alone: no maintainer script runs.
		if out, err := exec.Command("dpkg-deb", "-x", deb, tree).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %w: %s", filepath.Base(deb), err, out)
		}
	}
	return nil
}

// cacheRoot moves the unpacked tree to r's place in the cache. Renaming
// the finished tree makes a half-done one invisible.
func cacheRoot(tree string, r guestRoot) error {
	if err := os.Rename(tree, r.dir); err != nil {
		if _, serr := os.Stat(r.dir); serr == nil {
			return nil // another vmtest made it first
		}
		return fmt.Errorf("cache %s root: %w", r.arch.name, err)
	}
	return nil
}

// errEscapes is a symbolic link leading out of the guest root, or round in
// circles.
var errEscapes = errors.New("symbolic links lead nowhere in the guest root")

// resolve follows the symbolic links of a guest path inside the root, as
// the guest would, and returns the host path of the file it names.
func (r guestRoot) resolve(guestPath string) (string, error) {
	p := path.Clean("/" + guestPath)
	for hops := 0; hops < 40; hops++ {
		// Find the first component that is a link, and splice its target in.
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		spliced := false
		for i := range parts {
			prefix := "/" + strings.Join(parts[:i+1], "/")
			fi, err := os.Lstat(filepath.Join(r.dir, prefix))
			if err != nil {
				return "", err
			}
			if fi.Mode()&fs.ModeSymlink == 0 {
				continue
			}
			target, err := os.Readlink(filepath.Join(r.dir, prefix))
			if err != nil {
				return "", err
			}
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(prefix), target)
			}
			p = path.Join(append([]string{target}, parts[i+1:]...)...)
			spliced = true
			break
		}
		if !spliced {
			return filepath.Join(r.dir, p), nil
		}
	}
	return "", fmt.Errorf("%s: %w", guestPath, errEscapes)
}

// lookTool finds a command in the root's PATH, as guest and host path.
func (r guestRoot) lookTool(name string) (guestFile, error) {
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		host, err := r.resolve(path.Join(dir, name))
		if err != nil {
			continue
		}
		if fi, err := os.Stat(host); err == nil && fi.Mode().IsRegular() {
			return guestFile{host: host, guest: path.Join(dir, name)}, nil
		}
	}
	return guestFile{}, fmt.Errorf("%s is in none of the %s packages %v", name, r.arch.name, guestPackages)
}

// libDirs are where the guest's loader looks for libraries with no
// ld.so.cache: Debian's multiarch directories first.
func (r guestRoot) libDirs() []string {
	return []string{"/lib/" + r.arch.libDir, "/usr/lib/" + r.arch.libDir, "/lib", "/usr/lib"}
}

// sharedLibraries lists the loader and the libraries, transitively, that
// the dynamically linked ELF files among hostPaths name, at the guest paths
// the loader looks for them.
func (r guestRoot) sharedLibraries(hostPaths []string) ([]guestFile, error) {
	seen := map[string]bool{}
	var libs []guestFile
	queue := append([]string(nil), hostPaths...)
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		interp, needed, err := elfDeps(file)
		if err != nil {
			return nil, err
		}
		var found []guestFile
		if interp != "" {
			host, err := r.resolve(interp)
			if err != nil {
				return nil, fmt.Errorf("%s: loader %s: %w", file, interp, err)
			}
			found = append(found, guestFile{host: host, guest: interp})
		}
		for _, name := range needed {
			lib, err := r.findLibrary(name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			found = append(found, lib)
		}
		for _, lib := range found {
			if seen[lib.guest] {
				continue
			}
			seen[lib.guest] = true
			libs = append(libs, lib)
			queue = append(queue, lib.host)
		}
	}
	sort.Slice(libs, func(i, j int) bool { return libs[i].guest < libs[j].guest })
	return libs, nil
}

func (r guestRoot) findLibrary(name string) (guestFile, error) {
	for _, dir := range r.libDirs() {
		guest := path.Join(dir, name)
		host, err := r.resolve(guest)
		if err == nil {
			return guestFile{host: host, guest: guest}, nil
		}
	}
	return guestFile{}, fmt.Errorf("library %s not found in the %s root", name, r.arch.name)
}

// elfDeps reads an ELF file's loader and the libraries it needs: a
// library has no loader of its own, but may need others. A file that is not
// ELF (a script) needs neither.
func elfDeps(file string) (interp string, needed []string, err error) {
	f, err := elf.Open(file)
	var formatErr *elf.FormatError
	if errors.As(err, &formatErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", nil, fmt.Errorf("read loader of %s: %w", file, err)
		}
		interp = strings.TrimRight(string(b), "\x00")
	}
	if needed, err = f.ImportedLibraries(); err != nil {
		return "", nil, fmt.Errorf("read libraries of %s: %w", file, err)
	}
	return interp, needed, nil
}
