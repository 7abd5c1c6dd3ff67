package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// metaPackage is the Debian package that depends on an architecture's
// current kernel.
func metaPackage(a arch) string { return "linux-image-" + a.name }

// debianKernel returns the path of a bootable image of the Debian kernel
// release (default: the current one) for an architecture, downloading it
// into cache once: with the host's apt for its own architecture, with a
// private apt root for another. On amd64 it prefers the uncompressed
// vmlinux, which QEMU boots directly through its PVH entry point in a
// fraction of the bzImage's time under TCG; arm64's Image boots as it is.
func debianKernel(a arch, release, cache string) (string, error) {
	var root *aptRoot
	if !a.native() {
		r, err := newAptRoot(cache, a.name)
		if err != nil {
			return "", err
		}
		root = &r
	}
	if release == "" {
		var err error
		if release, err = currentRelease(a, root); err != nil {
			return "", err
		}
	}
	release = strings.TrimPrefix(release, "linux-image-")
	dir := filepath.Join(cache, release)
	vmlinuz := filepath.Join(dir, "vmlinuz")
	if _, err := os.Stat(vmlinuz); errors.Is(err, os.ErrNotExist) {
		if err := downloadKernel(root, release, dir); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	} else {
		fmt.Printf("vmtest: kernel %s cached in %s\n", release, dir)
	}

	if a.name != "amd64" {
		return vmlinuz, nil
	}
	vmlinux := filepath.Join(dir, "vmlinux")
	if _, err := os.Stat(vmlinux); err == nil {
		return vmlinux, nil
	}
	if err := extractVmlinux(vmlinuz, vmlinux); err != nil {
		fmt.Printf("vmtest: booting the bzImage, slower: %v\n", err)
		return vmlinuz, nil
	}
	return vmlinux, nil
}

// currentRelease asks apt (the host's, or root for a foreign architecture)
// which kernel linux-image-ARCH depends on, refreshing the package lists
// once if apt knows none.
func currentRelease(a arch, root *aptRoot) (string, error) {
	meta := metaPackage(a)
	depends := func() (string, bool) {
		var out []byte
		var err error
		if root != nil {
			var s string
			s, err = root.output("apt-cache", "depends", meta)
			out = []byte(s)
		} else {
			out, err = exec.Command("apt-cache", "depends", meta).Output()
		}
		release, ok := parseDepends(string(out), a.name)
		return release, err == nil && ok
	}
	if release, ok := depends(); ok {
		return release, nil
	}
	var err error
	switch {
	case root != nil:
		err = root.update()
	case os.Geteuid() == 0:
		err = aptGet("update")
	}
	if err != nil {
		return "", err
	}
	if release, ok := depends(); ok {
		return release, nil
	}
	return "", fmt.Errorf("apt-cache depends %s named no kernel (run apt-get update, or pass -kernel-version)", meta)
}

// parseDepends finds the kernel release of an architecture in `apt-cache
// depends linux-image-ARCH` output, e.g. "  Depends: linux-image-6.1.0-56-amd64".
func parseDepends(out, archName string) (release string, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		dep, found := strings.CutPrefix(strings.TrimLeft(sc.Text(), " |"), "Depends: ")
		if !found {
			continue
		}
		release, found := strings.CutPrefix(strings.TrimSpace(dep), "linux-image-")
		if found && strings.HasSuffix(release, "-"+archName) && !strings.ContainsAny(release, "<> ") {
			return release, true
		}
	}
	return "", false
}

// downloadKernel fetches linux-image-RELEASE with apt (root's, if not nil)
// and keeps only its vmlinuz and config in dir.
func downloadKernel(root *aptRoot, release, dir string) error {
	pkg := "linux-image-" + release
	fmt.Printf("vmtest: downloading %s\n", pkg)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(filepath.Dir(dir), ".download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	deb, err := aptDownload(root, pkg, work)
	if err != nil {
		return err
	}
	out := filepath.Join(work, "kernel")
	if err := extractKernel(deb, release, out); err != nil {
		return err
	}
	return cacheKernel(out, dir)
}

// aptDownload downloads the package pkg into dir with apt (root's, if not
// nil) and gives its .deb file.
func aptDownload(root *aptRoot, pkg, dir string) (string, error) {
	var err error
	if root != nil {
		err = root.run(dir, "apt-get", "download", pkg)
	} else {
		args := []string{"download", pkg}
		if os.Geteuid() == 0 {
			// apt's _apt user cannot write into root's private cache.
			args = append([]string{"-o", "APT::Sandbox::User=root"}, args...)
		}
		cmd := exec.Command("apt-get", args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		err = cmd.Run()
	}
	if err != nil {
		return "", fmt.Errorf("apt-get download %s: %w", pkg, err)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s left %d .deb files", pkg, len(debs))
	}
	return debs[0], nil
}

// extractKernel copies the vmlinuz and config of the kernel package deb
// into the new directory out.
func extractKernel(deb, release, out string) error {
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}
	return extractDeb(deb, map[string]string{
		"./boot/vmlinuz-" + release: filepath.Join(out, "vmlinuz"),
		"./boot/config-" + release:  filepath.Join(out, "config"),
	})
}

// cacheKernel moves the extracted kernel directory to dir in the cache.
// Renaming the finished directory makes a half-done download invisible.
func cacheKernel(out, dir string) error {
	if err := os.Rename(out, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "vmlinuz")); serr == nil {
			return nil // another vmtest cached it first
		}
		return fmt.Errorf("cache kernel: %w", err)
	}
	return nil
}

// extractDeb copies the named members of a .deb's data archive to the
// paths they map to, streaming it through dpkg-deb rather than unpacking
// the hundreds of megabytes of modules.
func extractDeb(deb string, want map[string]string) error {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dpkg-deb: %w", err)
	}
	found, err := copyMembers(pipe, want)
	_, _ = io.Copy(io.Discard, pipe) // drained so dpkg-deb can exit; its failure shows in Wait
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", filepath.Base(deb), werr)
	}
	if err != nil {
		return err
	}
	if found != len(want) {
		return fmt.Errorf("%s holds %d of the files %v", filepath.Base(deb), found, keys(want))
	}
	return nil
}

func copyMembers(r io.Reader, want map[string]string) (found int, err error) {
	tr := tar.NewReader(r)
	for found < len(want) {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return found, fmt.Errorf("read kernel package: %w", err)
		}
		dst, ok := want[hdr.Name]
		if !ok {
			continue
		}
		f, err := os.Create(dst)
		if err != nil {
			return found, err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return found, fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
		found++
	}
	return found, nil
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// xzMagic starts an xz stream; Debian compresses the kernel inside the
// bzImage with xz.
var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

// extractVmlinux decompresses the ELF kernel out of a bzImage with the
// xz tool and keeps it only if QEMU can boot it (it has a PVH note).
func extractVmlinux(bzImage, vmlinux string) error {
	img, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	off := bytes.Index(img, xzMagic)
	if off < 0 {
		return errors.New("no xz stream in the bzImage")
	}
	out, err := os.CreateTemp(filepath.Dir(vmlinux), ".vmlinux-")
	if err != nil {
		return err
	}
	tmp := out.Name()
	defer os.Remove(tmp)
	cmd := exec.Command("xz", "--decompress", "--stdout", "--single-stream")
	cmd.Stdin = bytes.NewReader(img[off:])
	cmd.Stdout = out
	err = cmd.Run()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("decompress vmlinux: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	ok, err := hasPVHNote(tmp)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("vmlinux has no PVH entry point")
	}
	return os.Rename(tmp, vmlinux)
}

// hasPVHNote reports whether an ELF kernel carries the Xen
// PHYS32_ENTRY note, which QEMU needs to boot it with -kernel.
func hasPVHNote(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("read vmlinux: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		notes, err := io.ReadAll(p.Open())
		if err != nil {
			return false, fmt.Errorf("read vmlinux notes: %w", err)
		}
		if findNote(notes, "Xen", xenElfnotePhys32Entry) {
			return true, nil
		}
	}
	return false, nil
}

// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY from xen/elfnote.h.
const xenElfnotePhys32Entry = 18

// findNote walks an ELF note segment for a note of the given owner and type.
func findNote(b []byte, owner string, typ uint32) bool {
	align4 := func(n uint32) uint64 { return (uint64(n) + 3) &^ 3 }
	for len(b) >= 12 {
		namesz := binary.LittleEndian.Uint32(b[0:])
		descsz := binary.LittleEndian.Uint32(b[4:])
		ntype := binary.LittleEndian.Uint32(b[8:])
		b = b[12:]
		if align4(namesz)+align4(descsz) > uint64(len(b)) {
			return false
		}
		name := strings.TrimRight(string(b[:namesz]), "\x00")
		if name == owner && ntype == typ {
			return true
		}
		b = b[align4(namesz)+align4(descsz):]
	}
	return false
}
