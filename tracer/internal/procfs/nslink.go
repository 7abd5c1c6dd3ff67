package procfs

import (
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
)

// NsInode reads the inode of a task's namespace of type t, from
// root/proc/TID/ns/TYPE (root/proc/self for tid 0), without allocating:
// the detector asks on the hot path. 0 when it cannot be read (no such
// task, no /proc).
func NsInode(root string, tid uint32, t event.NsType) uint32 {
	var path [256]byte
	p, ok := taskPath(&path, root, tid, "/ns/", t.String())
	if !ok {
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

// ParseNsLink parses what readlink gives for a namespace file and what
// mountinfo gives as the root of an nsfs mount: "net:[4026532177]". The
// type is a base type: pid_for_children and time_for_children name no
// namespace of their own, and a link never says them.
func ParseNsLink(s string) (event.NsType, uint32, bool) {
	i := strings.Index(s, ":[")
	if i <= 0 || !strings.HasSuffix(s, "]") {
		return 0, 0, false
	}
	t, ok := event.ParseNsType(s[:i])
	if !ok || t == event.PidForChildren || t == event.TimeForChildren {
		return 0, 0, false
	}
	ino, err := strconv.ParseUint(s[i+2:len(s)-1], 10, 32)
	if err != nil || ino == 0 {
		return 0, 0, false
	}
	return t, uint32(ino), true
}
