package detect

import (
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
)

// readProcNs reads the inode of a task's namespace from /proc without
// allocating; 0 when it cannot (no /proc allowed, the task is gone).
func (d *Detector) readProcNs(tid uint32, ty event.NsType) uint32 {
	if d.o.proc == "" || tid == 0 {
		return 0
	}
	var path [256]byte
	p := append(path[:0], d.o.proc...)
	if len(p) == 0 || p[len(p)-1] != '/' {
		p = append(p, '/')
	}
	p = append(p, "proc/"...)
	p = strconv.AppendUint(p, uint64(tid), 10)
	p = append(p, "/ns/"...)
	p = append(p, ty.String()...)
	p = append(p, 0)
	if len(p) > len(path) {
		return 0
	}
	var buf [64]byte
	atFdcwd := unix.AT_FDCWD
	n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(atFdcwd),
		uintptr(unsafe.Pointer(&p[0])), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return 0
	}
	// "mnt:[4026531841]"
	s := buf[:n]
	var ino uint64
	for i := 0; i < len(s); i++ {
		if s[i] == '[' {
			for _, c := range s[i+1:] {
				if c < '0' || c > '9' {
					break
				}
				ino = ino*10 + uint64(c-'0')
			}
			break
		}
	}
	if ino > 1<<32-1 {
		return 0
	}
	return uint32(ino)
}
