package procfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// AppendTaskFile appends the contents of root/proc/TID/NAME (root/proc/self
// for tid 0) to dst, growing it only when the file does not fit: the
// resolver reads a new process's cgroup file on the hot path, into one
// buffer it keeps. False when the file cannot be read (no such task: a
// short-lived one is often gone by the time its event is read).
func AppendTaskFile(dst []byte, root string, tid uint32, name string) ([]byte, bool) {
	var path [256]byte
	p, ok := taskPath(&path, root, tid, "/", name)
	if !ok {
		return dst, false
	}
	atFdcwd := unix.AT_FDCWD
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFdcwd), uintptr(unsafe.Pointer(&p[0])),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
	if errno != 0 {
		return dst, false
	}
	defer unix.Close(int(fd))
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := unix.Read(int(fd), dst[len(dst):cap(dst)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return dst[:start], false
		}
		if n == 0 {
			return dst, true
		}
		dst = dst[:len(dst)+n]
		// The files of /proc/TID this is for are written whole by one
		// show (single_open), and a read fills all the room it is given
		// up to the end: a read that left room was the last.
		if len(dst) < cap(dst) {
			return dst, true
		}
	}
}

// TaskGone tells that thread tid of process pid has exited and been
// reaped, so that its /proc/TID is gone too, for the cost of a signal 0:
// a look at a gone task's /proc walks the directory first. pid and tid are
// as our pid namespace sees them (see ProcIsOurs).
func TaskGone(pid, tid uint32) bool {
	return errors.Is(unix.Tgkill(int(pid), int(tid), 0), unix.ESRCH)
}

// ProcIsOurs tells whether root/proc shows our own pid namespace, so that
// what TaskGone says of a pid holds for root/proc/PID.
func ProcIsOurs(root string) bool {
	self, err := os.Readlink(filepath.Join(root, "proc/self"))
	return err == nil && self == strconv.Itoa(os.Getpid())
}

// taskPath writes root/proc/TID<sub><name> (root/proc/self for tid 0) into
// buf, NUL-terminated for a raw system call, so that reading a task's file
// on the hot path allocates nothing. False when it does not fit.
func taskPath(buf *[256]byte, root string, tid uint32, sub, name string) ([]byte, bool) {
	p := append(buf[:0], root...)
	if len(p) == 0 || p[len(p)-1] != '/' {
		p = append(p, '/')
	}
	p = append(p, "proc/"...)
	if tid == 0 {
		p = append(p, "self"...)
	} else {
		p = strconv.AppendUint(p, uint64(tid), 10)
	}
	p = append(p, sub...)
	p = append(p, name...)
	p = append(p, 0)
	return p, len(p) <= len(buf)
}
