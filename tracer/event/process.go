package event

import "github.com/nstrace/nstrace/tracer/internal/encode"

// Process is the process behind an event: for clone, the caller (the
// child's parent, whose image the child shares). The kernel reads it while
// the process runs the call, so a process that is gone a moment later still
// has it. Values are shared between events of one exec; treat them as
// read-only.
type Process struct {
	Exe       string     // the executable, as the process's root sees it
	ExeArg    string     // the path passed to execve, when it differs from Exe
	Args      []string   // argv as the process's memory held it at its first event
	Ancestors []Ancestor // parent first, up to the init of a pid namespace
	Truncated []string   // which of exe, exe_arg, args, ancestors were cut
	Role      string     // RoleInit or RoleExec, in a pid namespace not the host's
}

// Roles of a process in a non-host pid namespace (a container's).
const (
	RoleInit = "init" // pid 1 of its pid namespace: the container's init
	RoleExec = "exec" // entered from outside (docker exec, runc exec, nsenter)
)

// Ancestor is one process of an event's parent chain.
type Ancestor struct {
	Pid  uint32
	Comm string
	Exe  string
}

// NoAuid is the login uid of a process no login session started.
const NoAuid = ^uint32(0)

// Bounds of what the kernel sends of a process (bpf/proc.h).
const (
	MaxArgs      = 16   // more are cut, and "args" is marked in Truncated
	MaxArgsBytes = 1023 // argv bytes read
	MaxAncestors = 8
)

// capNames are the capabilities by bit number (linux/capability.h).
var capNames = [...]string{
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

// CapSysAdmin is CAP_SYS_ADMIN's bit in Event.Caps.
const CapSysAdmin = uint64(1) << 21

// AppendCapNames appends the names of the capabilities set in caps; a bit
// without a name reads "CAP_<n>".
func AppendCapNames(dst []string, caps uint64) []string {
	for i := range 64 {
		if caps&(1<<i) == 0 {
			continue
		}
		if i < len(capNames) {
			dst = append(dst, capNames[i])
		} else {
			dst = append(dst, capName(i))
		}
	}
	return dst
}

func capName(i int) string {
	return "CAP_" + string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// ParseCapName is the inverse of AppendCapNames for one name.
func ParseCapName(s string) (uint64, bool) {
	for i, n := range capNames {
		if n == s {
			return 1 << i, true
		}
	}
	for i := len(capNames); i < 64; i++ {
		if capName(i) == s {
			return 1 << i, true
		}
	}
	return 0, false
}

// appendProcessJSON writes the process fields of a syscall record.
func (e *Event) appendProcessJSON(b []byte, nums *Numbers) []byte {
	if e.HasCreds {
		if e.Auid != NoAuid {
			b = appendUintField(b, nums, "auid", uint64(e.Auid))
		}
		b = append(b, `,"caps":[`...)
		first := true
		for i := range 64 {
			if e.Caps&(1<<i) == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			if i < len(capNames) {
				b = append(b, capNames[i]...)
			} else {
				b = append(b, capName(i)...)
			}
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	p := e.Process
	if p == nil {
		return b
	}
	b = append(b, `,"exe":`...)
	b = encode.AppendJSONString(b, p.Exe)
	if p.ExeArg != "" {
		b = append(b, `,"exe_arg":`...)
		b = encode.AppendJSONString(b, p.ExeArg)
	}
	b = append(b, `,"args":`...)
	b = appendStrings(b, p.Args)
	b = append(b, `,"ancestors":[`...)
	for i := range p.Ancestors {
		a := &p.Ancestors[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"pid":`...)
		b = nums.Append(b, uint64(a.Pid))
		b = append(b, `,"comm":`...)
		b = encode.AppendJSONString(b, a.Comm)
		if a.Exe != "" {
			b = append(b, `,"exe":`...)
			b = encode.AppendJSONString(b, a.Exe)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if len(p.Truncated) > 0 {
		b = append(b, `,"truncated":`...)
		b = appendStrings(b, p.Truncated)
	}
	if p.Role != "" {
		b = append(b, `,"container_role":"`...)
		b = append(b, p.Role...)
		b = append(b, '"')
	}
	return b
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = encode.AppendJSONString(b, s)
	}
	return append(b, ']')
}

func (e *Event) processFromWire(w *wire) error {
	if w.Caps != nil {
		e.HasCreds = true
		e.Auid = NoAuid
		if w.Auid != nil {
			e.Auid = *w.Auid
		}
		for _, name := range w.Caps {
			bit, ok := ParseCapName(name)
			if !ok {
				return errUnknownCap(name)
			}
			e.Caps |= bit
		}
	}
	if w.Exe == nil {
		return nil
	}
	p := &Process{Exe: *w.Exe, ExeArg: w.ExeArg, Args: w.Args, Truncated: w.Truncated, Role: w.ContainerRole}
	for _, a := range w.Ancestors {
		p.Ancestors = append(p.Ancestors, Ancestor{Pid: a.Pid, Comm: a.Comm, Exe: a.Exe})
	}
	e.Process = p
	return nil
}

type errUnknownCap string

func (e errUnknownCap) Error() string { return "unknown capability " + string(e) }
