package event

import "golang.org/x/sys/unix"

// cloneFlagNames lists the flags that matter to namespaces, in the order
// they are printed.
var cloneFlagNames = []struct {
	bit  uint64
	name string
}{
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"},
	{unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWTIME, "CLONE_NEWTIME"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
	{unix.CLONE_THREAD, "CLONE_THREAD"},
	{unix.CLONE_VM, "CLONE_VM"},
	{unix.CLONE_VFORK, "CLONE_VFORK"},
	{unix.CLONE_FS, "CLONE_FS"},
	{unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"},
	{unix.CLONE_PIDFD, "CLONE_PIDFD"},
	{unix.CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"},
}

// NamespaceFlags are the CLONE_NEW* bits.
const NamespaceFlags = unix.CLONE_NEWCGROUP | unix.CLONE_NEWIPC | unix.CLONE_NEWNS |
	unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWTIME | unix.CLONE_NEWUSER | unix.CLONE_NEWUTS

// AppendFlagNames appends the names of the set flags that nstrace reports.
// Bits outside the table are left out: they say nothing about namespaces.
func AppendFlagNames(dst []string, flags uint64) []string {
	for _, f := range cloneFlagNames {
		if flags&f.bit != 0 {
			dst = append(dst, f.name)
		}
	}
	return dst
}

// EachFlagName calls fn with the name of each set flag, without allocating.
func EachFlagName(flags uint64, fn func(string)) {
	for _, f := range cloneFlagNames {
		if flags&f.bit != 0 {
			fn(f.name)
		}
	}
}

// parseFlagName returns the bit for a flag name.
func parseFlagName(name string) (uint64, bool) {
	for _, f := range cloneFlagNames {
		if f.name == name {
			return f.bit, true
		}
	}
	return 0, false
}

// FlagForType is the CLONE_NEW* flag that creates a namespace of type t.
func FlagForType(t NsType) uint64 {
	switch t {
	case Cgroup:
		return unix.CLONE_NEWCGROUP
	case IPC:
		return unix.CLONE_NEWIPC
	case Mnt:
		return unix.CLONE_NEWNS
	case Net:
		return unix.CLONE_NEWNET
	case Pid, PidForChildren:
		return unix.CLONE_NEWPID
	case Time, TimeForChildren:
		return unix.CLONE_NEWTIME
	case User:
		return unix.CLONE_NEWUSER
	case UTS:
		return unix.CLONE_NEWUTS
	}
	return 0
}
