package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// victim is a file the ready file must never touch.
func victim(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "victim")
	if err := os.WriteFile(p, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s holds %q (%v), want %q", path, b, err, want)
	}
}

func TestReadyFileIsWrittenOrReplacedWhenItIsOurs(t *testing.T) {
	dir := t.TempDir()
	pid := strconv.Itoa(os.Getpid()) + "\n"
	for name, old := range map[string]*string{
		"new":   nil,
		"empty": new(string),   // made by mktemp for us to fill
		"stale": ptr("4242\n"), // an earlier run's
	} {
		p := filepath.Join(dir, name)
		if old != nil {
			if err := os.WriteFile(p, []byte(*old), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := writeReadyFile(p); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		wantContent(t, p, pid)
		if fi, err := os.Lstat(p); err != nil || fi.Mode() != 0o644 {
			t.Errorf("%s: mode %v (%v), want a regular 0644 file", name, fi.Mode(), err)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("%d entries in the directory, want the 3 ready files (no temp file left)", len(ents))
	}
}

func ptr(s string) *string { return &s }

func TestReadyFileRefusesWhatIsNotOurs(t *testing.T) {
	dir := t.TempDir()
	v := victim(t, dir)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(v, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard")
	if err := os.WriteFile(hard, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(hard, filepath.Join(dir, "hard2")); err != nil {
		t.Fatal(err)
	}
	for path, why := range map[string]string{
		link:     "is a symbolic link",
		dangling: "is a symbolic link",
		dir:      "is a directory, not a file",
		fifo:     "is a named pipe, not a file",
		v:        "holds something other than a process id",
		hard:     "has other links",
	} {
		err := writeReadyFile(path)
		if !errors.Is(err, ErrReadyFileInTheWay) || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v, want it refused: %q", path, err, why)
		}
	}
	wantContent(t, v, "precious\n")
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("the dangling link's target was created")
	}
	if os.Geteuid() == 0 {
		other := filepath.Join(dir, "other")
		if err := os.WriteFile(other, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := writeReadyFile(other); !errors.Is(err, ErrReadyFileInTheWay) {
			t.Errorf("another user's file: %v, want it refused", err)
		}
	}
}

// The adversarial run's repro: an unprivileged user plants a symbolic link
// at the ready path in a sticky, world-writable directory (as /tmp), or a
// symlinked directory in a directory of their own. nstrace, as root, says
// why in one line, exits 1, and the target is untouched.
func TestTraceRefusesAReadyFileThroughASymlink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the files belong to another user")
	}
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	v := victim(t, base)

	sticky := filepath.Join(base, "tmp")
	if err := os.Mkdir(sticky, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(sticky, "nstrace-ready")
	if err := os.Symlink(v, planted); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}

	// A directory the user owns, holding a link to root's directory, which
	// holds a file under the ready file's name.
	home := filepath.Join(base, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	rootDir := filepath.Join(base, "root")
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(rootDir, "ready")
	if err := os.WriteFile(secret, []byte("root's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	viaDir := filepath.Join(home, "d")
	if err := os.Symlink(rootDir, viaDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(viaDir, 65534, 65534); err != nil {
		t.Fatal(err)
	}

	for path, want := range map[string]string{
		planted:                        "nstrace: ready file " + planted + " is a symbolic link: refusing to replace it",
		filepath.Join(viaDir, "ready"): "nstrace: ready file " + viaDir + "/ready holds something other than a process id: refusing to replace it",
	} {
		_, stderr, code := nstrace(t, nil, "trace", "-q", "--ready-file", path)
		if code != 1 || strings.TrimSpace(stderr) != want {
			t.Errorf("--ready-file %s: status %d, stderr %q; want 1 and %q", path, code, stderr, want)
		}
	}
	wantContent(t, v, "precious\n")
	wantContent(t, secret, "root's\n")
	if fi, err := os.Lstat(planted); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v %v", fi, err)
	}
}

// A file swapped in between the check and the read, a FIFO above all (an
// open for reading would wait for a writer), is refused at once.
func TestReadyFileSwappedWhileCheckedIsRefused(t *testing.T) {
	dir := t.TempDir()
	checked := filepath.Join(dir, "checked")
	if err := os.WriteFile(checked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(checked, &st); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{other, fifo} {
		if _, err := readSmallFile(path, &st); !errors.Is(err, ErrReadyFileInTheWay) {
			t.Errorf("%s in place of the file checked: %v, want it refused", path, err)
		}
	}
	if b, err := readSmallFile(checked, &st); err != nil || len(b) != 0 {
		t.Errorf("the file checked: %q, %v", b, err)
	}
}
