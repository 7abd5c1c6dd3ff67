// Package newc writes cpio archives in the "newc" (SVR4, no CRC) format,
// the only format the Linux kernel unpacks as an initramfs.
//
// Each entry is a 110-byte ASCII header, the NUL-terminated name and then
// the data, with the name and the data each padded to a 4-byte boundary.
// The archive ends with an entry named "TRAILER!!!".
package newc

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Trailer is the name of the entry that ends every archive.
const Trailer = "TRAILER!!!"

const magic = "070701"

// Unix file type bits as stored in a header's mode field.
const (
	TypeDir     = 0o040000
	TypeRegular = 0o100000
	TypeSymlink = 0o120000
	TypeCharDev = 0o020000
)

// Writer appends entries to a newc archive. Names are written as given:
// the kernel wants them relative ("bin/sh", not "/bin/sh"), and a
// directory must come before the entries inside it.
type Writer struct {
	w      io.Writer
	n      int64 // bytes written, for padding
	ino    uint32
	closed bool
}

// NewWriter returns a Writer that writes the archive to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// Dir adds a directory.
func (w *Writer) Dir(name string, perm fs.FileMode) error {
	return w.entry(name, TypeDir|uint32(perm.Perm()), 2, 0, 0, nil, 0)
}

// File adds a regular file holding the size bytes read from r.
func (w *Writer) File(name string, perm fs.FileMode, r io.Reader, size int64) error {
	return w.entry(name, TypeRegular|uint32(perm.Perm()), 1, 0, 0, r, size)
}

// Symlink adds a symbolic link to target; the target is the entry's data.
func (w *Writer) Symlink(name, target string) error {
	return w.entry(name, TypeSymlink|0o777, 1, 0, 0, strings.NewReader(target), int64(len(target)))
}

// CharDev adds a character device node, such as dev/console (5, 1).
func (w *Writer) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	return w.entry(name, TypeCharDev|uint32(perm.Perm()), 1, major, minor, nil, 0)
}

// Close writes the trailer. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if err := w.header(Trailer, 0, 0, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("write trailer: %w", err)
	}
	w.closed = true
	return nil
}

func (w *Writer) entry(name string, mode, nlink, major, minor uint32, r io.Reader, size int64) error {
	if w.closed {
		return errors.New("archive already closed")
	}
	if name == "" || name[0] == '/' || name == Trailer {
		return fmt.Errorf("entry %q: name must be relative and not the trailer", name)
	}
	if size < 0 || size > 0xffffffff {
		return fmt.Errorf("entry %q: size %d does not fit in newc", name, size)
	}
	w.ino++
	if err := w.header(name, w.ino, mode, nlink, major, minor, size); err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	if size == 0 {
		return nil
	}
	n, err := io.Copy(w.w, io.LimitReader(r, size))
	w.n += n
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("entry %q: got %d bytes of data, want %d", name, n, size)
	}
	return w.pad()
}

func (w *Writer) header(name string, ino, mode, nlink, major, minor uint32, size int64) error {
	hdr := fmt.Sprintf("%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%s\x00",
		magic,
		ino, mode,
		0, 0, // uid, gid: root
		nlink,
		0, // mtime: fixed, so archives are reproducible
		size,
		0, 0, // devmajor, devminor of the archive's own file system
		major, minor, // rdevmajor, rdevminor
		len(name)+1,
		0, // check: unused in newc
		name)
	if err := w.write([]byte(hdr)); err != nil {
		return err
	}
	return w.pad()
}

func (w *Writer) pad() error {
	var zeros [3]byte
	return w.write(zeros[:(4-w.n%4)%4])
}

func (w *Writer) write(p []byte) error {
	n, err := w.w.Write(p)
	w.n += int64(n)
	return err
}
