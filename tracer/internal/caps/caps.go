// Package caps names the Linux capabilities nstrace needs for each of its
// parts, and finds which of them the running process lacks, so that a
// refusal can say what to grant. The sets were measured as a non-root user
// (setpriv with exactly these capabilities); root has them all. It also
// names capability bits, for the events' "caps".
package caps

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Cap is one Linux capability.
type Cap struct {
	Name string // as capabilities(7) spells it: CAP_BPF
	Bit  int    // its number
}

// The capabilities nstrace's parts need.
var (
	// BPF loads the programs and creates their maps.
	BPF = Cap{"CAP_BPF", unix.CAP_BPF}
	// Perfmon loads tracing programs and opens tracepoint perf events.
	Perfmon = Cap{"CAP_PERFMON", unix.CAP_PERFMON}
	// DACReadSearch reads the syscall tracepoints' ids in tracefs (root's,
	// mode 0700) and runc's state (/run/runc, 0700): reading and searching
	// only, unlike CAP_DAC_OVERRIDE.
	DACReadSearch = Cap{"CAP_DAC_READ_SEARCH", unix.CAP_DAC_READ_SEARCH}
	// SysPtrace reads other users' /proc/PID/ns, /proc/PID/fd and
	// /proc/PID/root: the namespaces made before nstrace started, their
	// owners, containers and bind mounts in other mount namespaces.
	SysPtrace = Cap{"CAP_SYS_PTRACE", unix.CAP_SYS_PTRACE}
	// SysAdmin only mounts tracefs where none is mounted.
	SysAdmin = Cap{"CAP_SYS_ADMIN", unix.CAP_SYS_ADMIN}
)

// Trace is what tracing needs with the syscall tracepoints (--hooks
// tracepoint, and auto where the kernel refuses fentry).
var Trace = []Cap{BPF, Perfmon, DACReadSearch}

// Names is what naming namespaces made by other users needs.
var Names = []Cap{SysPtrace, DACReadSearch}

// Deploy is what the DaemonSet and the systemd unit grant: tracing and
// names, nothing else. Their tests compare their lists with this one.
var Deploy = []Cap{BPF, Perfmon, DACReadSearch, SysPtrace}

// effective returns the effective capability set of the calling thread.
// Go's threads share one set unless a thread changes its own, which
// nstrace never does.
func effective() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective), nil
}

// Missing returns those of need the process does not have in effect. If
// the set cannot be read, it returns none: it cannot say.
func Missing(need []Cap) []Cap {
	eff, err := effective()
	if err != nil {
		return nil
	}
	var out []Cap
	for _, c := range need {
		if eff&(1<<uint(c.Bit)) == 0 {
			out = append(out, c)
		}
	}
	return out
}

// List writes caps as "CAP_A, CAP_B and CAP_C".
func List(cs []Cap) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// Advice says what to grant after the kernel refused a step that needs
// need, as part of the purpose that needs all (e.g. "tracing" and Trace):
// "needs CAP_PERFMON (tracing needs CAP_BPF, CAP_PERFMON and
// CAP_DAC_READ_SEARCH, or root)". When the process has need but lacks
// others of all, those are named; when it has them all, something else
// refused (a security module, a sysctl) and Advice says so.
func Advice(need []Cap, purpose string, all []Cap) string {
	missing := Missing(need)
	if len(missing) == 0 {
		missing = Missing(all)
	}
	whole := purpose + " needs " + List(all) + ", or root"
	if len(missing) == 0 {
		return "refused although the process has " + List(all) + " (" + whole + "; a seccomp filter, a security module or a sysctl may deny it)"
	}
	return "needs " + List(missing) + " (" + whole + ")"
}
