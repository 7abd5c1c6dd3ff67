package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nstrace/nstrace/cmd/vmtest/internal/guest"
	"github.com/nstrace/nstrace/cmd/vmtest/internal/newc"
)

// initramfs is what goes into the guest's root file system.
type initramfs struct {
	init    string   // host path of the guest init
	busybox string   // host path of a static busybox
	applets string   // host path of a busybox of the same release that runs here, to list its applets
	test    string   // host path of the test binary
	args    []string // the test's arguments
	env     []string // the test's environment
	files   []guestFile
	trees   []guestFile // directories copied whole, symbolic links as they are
	libs    []guestFile // shared libraries; the host's go to the same guest paths
	root    *guestRoot  // a foreign architecture's files, where the libraries come from
}

// testDir holds the test binary in the guest, apart from /bin so that a
// binary named like a busybox applet ("test") cannot clash.
const testDir = "/vmtest"

// An item is one entry of the archive, keyed by its guest path.
type item struct {
	host    string // regular file: copy from here
	data    string // regular file: or hold this
	link    string // symlink target
	dir     bool
	console bool // the /dev/console node
	mode    fs.FileMode
}

// buildInitramfs writes the guest's root file system as an uncompressed
// newc archive: the file lives only for one run, and the guest kernel,
// slow under TCG, then has nothing to decompress.
func buildInitramfs(dst string, r initramfs) error {
	// A foreign busybox cannot run here to list its applets: the host's
	// busybox-static, of the same Debian release, has the same ones.
	lister := r.applets
	if lister == "" {
		lister = r.busybox
	}
	applets, err := busyboxApplets(lister)
	if err != nil {
		return err
	}
	binaries := []string{r.test}
	for _, f := range r.files {
		binaries = append(binaries, f.host)
	}
	if r.root != nil {
		r.libs, err = r.root.sharedLibraries(binaries)
	} else {
		var libs []string
		libs, err = sharedLibraries(binaries)
		for _, l := range libs {
			r.libs = append(r.libs, guestFile{host: l, guest: l})
		}
	}
	if err != nil {
		return err
	}
	items, err := r.layout(applets)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	err = writeArchive(f, items)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write initramfs: %w", err)
	}
	return nil
}

// layout maps every guest path to its item, parent directories included.
// What is named explicitly (the init, the test, -file, -dir) must not
// clash; libraries and busybox applets go only where nothing else is.
func (r initramfs) layout(applets []string) (map[string]item, error) {
	items, err := r.baseItems()
	if err != nil {
		return nil, err
	}
	if err := r.addFiles(items); err != nil {
		return nil, err
	}
	for _, l := range r.libs {
		addIfFree(items, l.guest, item{host: l.host})
	}
	for _, a := range applets {
		addIfFree(items, "/bin/"+a, item{link: "busybox"})
	}
	if err := addParents(items); err != nil {
		return nil, err
	}
	return items, nil
}

// baseItems are what every guest has: the init and its configuration
// (the test's command line and environment), a console, a root user,
// busybox, the test and the directories the guest init mounts on or
// the tests expect.
func (r initramfs) baseItems() (map[string]item, error) {
	testPath := path.Join(testDir, filepath.Base(r.test))
	cfg, err := json.Marshal(guest.Config{
		Args: append([]string{testPath}, r.args...),
		Env:  r.env,
		Dir:  "/tmp",
	})
	if err != nil {
		return nil, err
	}
	items := map[string]item{
		"/init":          {host: r.init, mode: 0o755},
		guest.ConfigPath: {data: string(cfg), mode: 0o644},
		"/dev/console":   {console: true, mode: 0o600},
		"/etc/passwd":    {data: "root:x:0:0:root:/tmp:/bin/sh\n", mode: 0o644},
		"/etc/group":     {data: "root:x:0:\n", mode: 0o644},
		"/bin/busybox":   {host: r.busybox, mode: 0o755},
		testPath:         {host: r.test, mode: 0o755},
	}
	for _, d := range []string{"/proc", "/sys", "/tmp", "/run", "/root", "/sbin", "/usr/bin", "/usr/sbin"} {
		items[d] = item{dir: true, mode: 0o755}
	}
	return items, nil
}

// addFiles adds the -file files, each refused where something already
// is, and the -dir trees.
func (r initramfs) addFiles(items map[string]item) error {
	for _, f := range r.files {
		if _, taken := items[f.guest]; taken {
			return fmt.Errorf("-file %s: %s is already in the guest", f.host, f.guest)
		}
		items[f.guest] = item{host: f.host}
	}
	for _, tr := range r.trees {
		if err := addTree(items, tr); err != nil {
			return err
		}
	}
	return nil
}

// addIfFree adds it at guest path p unless something is there already.
func addIfFree(items map[string]item, p string, it item) {
	if _, taken := items[p]; !taken {
		items[p] = it
	}
}

// addParents adds the directories above every item, refusing an item
// that would need a file as its directory.
func addParents(items map[string]item) error {
	for p := range items {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if it, ok := items[d]; ok && !it.dir {
				return fmt.Errorf("%s is a file but %s needs it as a directory", d, p)
			}
			items[d] = item{dir: true, mode: 0o755}
		}
	}
	return nil
}

// addTree adds a host directory's files, directories and symbolic links
// (kept as links: test data such as a fake /proc is made of them) under
// the guest path.
func addTree(items map[string]item, tr guestFile) error {
	return filepath.WalkDir(tr.host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(tr.host, p)
		if err != nil {
			return err
		}
		guestPath := path.Join(tr.guest, filepath.ToSlash(rel))
		if _, taken := items[guestPath]; taken && !d.IsDir() {
			return fmt.Errorf("-dir %s: %s is already in the guest", tr.host, guestPath)
		}
		switch {
		case d.IsDir():
			items[guestPath] = item{dir: true, mode: 0o755}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			items[guestPath] = item{link: target}
		case d.Type().IsRegular():
			items[guestPath] = item{host: p}
		default:
			return fmt.Errorf("-dir %s: %s is neither file, directory nor link", tr.host, p)
		}
		return nil
	})
}

// writeArchive writes items sorted by path, which puts every directory
// before what it holds.
func writeArchive(w io.Writer, items map[string]item) error {
	paths := make([]string, 0, len(items))
	for p := range items {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	cw := newc.NewWriter(w)
	for _, p := range paths {
		if err := writeItem(cw, strings.TrimPrefix(p, "/"), items[p]); err != nil {
			return err
		}
	}
	return cw.Close()
}

func writeItem(w *newc.Writer, name string, it item) error {
	switch {
	case it.dir:
		return w.Dir(name, it.mode)
	case it.link != "":
		return w.Symlink(name, it.link)
	case it.console:
		return w.CharDev(name, it.mode, 5, 1)
	case it.host == "":
		return w.File(name, it.mode, strings.NewReader(it.data), int64(len(it.data)))
	}
	f, err := os.Open(it.host)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", it.host)
	}
	mode := it.mode
	if mode == 0 {
		mode = st.Mode().Perm()
	}
	return w.File(name, mode, f, st.Size())
}

// busyboxApplets lists the commands the busybox binary provides.
func busyboxApplets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			applets = append(applets, a)
		}
	}
	return applets, nil
}

// buildInit compiles the guest init, static, for the guest's architecture,
// from this module.
func buildInit(dst string, a arch) error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", dst, "github.com/nstrace/nstrace/cmd/vmtest/guestinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH="+a.name)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build guest init (run vmtest inside the nstrace module, or pass -init): %w", err)
	}
	return nil
}
