package session

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// ErrExists means the session file is there already and overwriting was not asked for.
var ErrExists = errors.New("file exists")

// ErrSymlink means a symbolic link is where a session file would go; the Writer
// never writes through one.
var ErrSymlink = errors.New("is a symbolic link")

// createFile makes a new session file, mode 0600, never through a symlink.
// An existing file is an error unless force (truncate it) or appendTo (add
// to its end) is set.
func createFile(path string, force, appendTo bool) (*os.File, error) {
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
	switch {
	case appendTo:
		flags |= unix.O_APPEND
	case force:
		flags |= unix.O_TRUNC
	default:
		flags |= unix.O_EXCL
	}
	fd, err := unix.Open(path, flags, 0o600)
	if err != nil {
		return nil, createError(path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, fileKind(st.Mode))
	}
	// O_NONBLOCK kept open() from hanging on a FIFO; writes must block.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	// An existing file kept its mode through O_TRUNC or O_APPEND: what it
	// will hold is for its owner only.
	if st.Mode&0o077 != 0 {
		if err := unix.Fchmod(fd, 0o600); err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func createError(path string, err error) error {
	var st unix.Stat_t
	isLink := unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
	switch {
	case isLink:
		return fmt.Errorf("%s %w: refusing to write through it", path, ErrSymlink)
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%s: %w (use --force to overwrite)", path, ErrExists)
	}
	return &fs.PathError{Op: "create", Path: path, Err: err}
}

func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a named pipe"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "not a regular file"
}

// appendable checks a file about to be appended to. A plain file may end
// in a torn line (a killed recorder's), which the new session must first
// end. A compressed one must end with its last gzip member or zstd frame
// complete: a new one after a cut stream would be unreadable, so that is
// refused. A missing file is fine: appending creates it.
func appendable(path string, comp compression) (torn bool, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ELOOP) {
		return false, nil // createFile says what is wrong with a link
	}
	if err != nil {
		return false, fmt.Errorf("append to %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 || !st.Mode().IsRegular() {
		return false, nil // createFile refuses what is not a regular file
	}
	if comp == plain {
		var last [1]byte
		if _, err := f.ReadAt(last[:], st.Size()-1); err != nil {
			return false, fmt.Errorf("append to %s: %w", path, err)
		}
		return last[0] != '\n', nil
	}
	br := bufio.NewReader(f)
	zr, closeZip, err := decompress(br)
	if err == nil && zr == io.Reader(br) {
		err = errors.New("not compressed")
	}
	if err == nil {
		_, err = io.Copy(io.Discard, zr)
		closeZip()
	}
	if err != nil {
		return false, fmt.Errorf("append to %s: its compressed stream does not end cleanly (%v): a recorder was killed? "+
			"a new stream after it would be unreadable: record to a new file", path, err)
	}
	return false, nil
}

// openFile opens a session file for reading. It refuses what is not a
// regular file (a FIFO would block, a device never end); stdin is read as
// it comes.
func openFile(path string) (*os.File, error) {
	if path == "-" {
		return os.Stdin, nil
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, pathErr(path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, pathErr(path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		msg := "is " + fileKind(st.Mode)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			msg += ", not a regular file (to read a stream, give - and pipe it to stdin)"
		}
		return nil, &Error{Pos: Position{File: path}, Err: errors.New(msg)}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, pathErr(path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func pathErr(path string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = errors.New(errno.Error())
	}
	return &Error{Pos: Position{File: path}, Err: err}
}

// compression is chosen by file extension when writing, by content when reading.
type compression int

const (
	plain compression = iota
	gzipped
	zstandard
)

func compressionOf(path string) compression {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gz":
		return gzipped
	case ".zst", ".zstd":
		return zstandard
	}
	return plain
}

// compressor is a compressing writer: Flush pushes out what it holds, so a
// recorder killed later still leaves it readable.
type compressor interface {
	io.WriteCloser
	Flush() error
}

func newCompressor(c compression, w io.Writer) (compressor, error) {
	switch c {
	case gzipped:
		return gzip.NewWriterLevel(w, gzip.BestSpeed)
	case zstandard:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	}
	return nil, nil
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// maxZstdWindow bounds what a zstd frame may make the reader hold.
const maxZstdWindow = 8 << 20

// decompress returns the decompressed stream of br, judging by its magic.
func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == gzipMagic[0] && magic[1] == gzipMagic[1]:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case len(magic) == 4 && string(magic) == string(zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
