package caps

import "golang.org/x/sys/unix"

// names are the capabilities by bit number (linux/capability.h).
var names = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// SysAdminMask is CAP_SYS_ADMIN in a capability mask (event.Event.Caps).
const SysAdminMask = uint64(1) << unix.CAP_SYS_ADMIN

// Name is capability bit i's name; a bit without one reads "CAP_<i>".
func Name(i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "CAP_" + string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// AppendNames appends the names of the capabilities set in mask.
func AppendNames(dst []string, mask uint64) []string {
	for i := range 64 {
		if mask&(1<<i) != 0 {
			dst = append(dst, Name(i))
		}
	}
	return dst
}

// ParseName is the inverse of Name: the bit of a capability's name.
func ParseName(s string) (uint64, bool) {
	for i := range 64 {
		if Name(i) == s {
			return 1 << i, true
		}
	}
	return 0, false
}
