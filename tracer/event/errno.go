package event

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrnoName is the symbolic name of an errno ("EPERM"), or "E<n>" when the
// number has no name.
func ErrnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return "E" + itoa(uint64(e))
}

// parseErrno is the inverse of ErrnoName.
func parseErrno(s string) (syscall.Errno, bool) {
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == s {
			return e, true
		}
	}
	if len(s) > 1 && s[0] == 'E' {
		var n uint64
		for _, c := range s[1:] {
			if c < '0' || c > '9' || n > 1<<20 {
				return 0, false
			}
			n = n*10 + uint64(c-'0')
		}
		return syscall.Errno(n), true
	}
	return 0, false
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
