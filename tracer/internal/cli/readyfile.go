package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/render"
)

// ErrReadyFileInTheWay means something other than a ready file of ours is at the
// --ready-file path, and nstrace, often root, will not replace it.
var ErrReadyFileInTheWay = errors.New("refusing to replace it")

// staleReady is what an earlier run leaves in its ready file: its pid.
var staleReady = regexp.MustCompile(`^[0-9]{1,10}\n?$`)

// checkReadyPath refuses a path a ready file must not be written to: a
// symbolic link (never followed, wherever it points), anything but a regular
// file, or a file that is not an empty or stale ready file of this user,
// with a single link. A path that does not exist is fine.
func checkReadyPath(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	name := render.Sanitize(path)
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("ready file %s is a symbolic link: %w", name, ErrReadyFileInTheWay)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("ready file %s is a %s, not a file: %w", name, fileKind(fi.Mode()), ErrReadyFileInTheWay)
	case st == nil || st.Uid != uint32(os.Geteuid()) || st.Nlink != 1:
		return fmt.Errorf("ready file %s belongs to another user or has other links: %w", name, ErrReadyFileInTheWay)
	case fi.Size() > 16:
		return fmt.Errorf("ready file %s holds %d bytes, not a process id: %w", name, fi.Size(), ErrReadyFileInTheWay)
	}
	b, err := readSmallFile(path, st)
	if err != nil {
		return fmt.Errorf("ready file %s: %w", name, err)
	}
	if len(b) > 0 && !staleReady.Match(b) {
		return fmt.Errorf("ready file %s holds something other than a process id: %w", name, ErrReadyFileInTheWay)
	}
	return nil
}

// readSmallFile reads the start of the regular file at path that Lstat
// found as st, never following a link nor blocking on a FIFO swapped in
// since: it must still be the same file.
func readSmallFile(path string, st *syscall.Stat_t) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		return nil, err
	}
	if now.Mode&unix.S_IFMT != unix.S_IFREG || now.Dev != st.Dev || now.Ino != st.Ino {
		return nil, fmt.Errorf("changed while being checked: %w", ErrReadyFileInTheWay)
	}
	buf := make([]byte, 17)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// writeReadyFile tells scripts the probes are attached: the file holds our
// pid. It is written to a new file in the same directory, created with
// O_EXCL (which never follows a symbolic link), and renamed over path.
// rename(2) replaces the directory entry itself, never what a symbolic link
// there points to, so a link planted between the check and the rename, even
// in a directory others may write to such as /tmp, changes nothing but the
// name: no file but our own is ever written.
func writeReadyFile(path string) error {
	if err := checkReadyPath(path); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*")
	if err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n", os.Getpid())
	err = errors.Join(err, tmp.Chmod(0o644), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("ready file: %w", err)
	}
	return nil
}
