// Package cloneflags names the clone(2), unshare(2) and setns(2) flags
// nstrace reports, as the JSON form and the renderers spell them.
package cloneflags

import "golang.org/x/sys/unix"

// Flag is one flag bit and its name.
type Flag struct {
	Bit  uint64
	Name string
}

// Table lists the flags that matter to namespaces, in the order they are
// printed.
var Table = []Flag{
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

// Namespaces are the CLONE_NEW* bits.
const Namespaces = unix.CLONE_NEWCGROUP | unix.CLONE_NEWIPC | unix.CLONE_NEWNS |
	unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWTIME | unix.CLONE_NEWUSER | unix.CLONE_NEWUTS

// Append appends the names of the set flags that nstrace reports. Bits
// outside the table are left out: they say nothing about namespaces.
func Append(dst []string, flags uint64) []string {
	for _, f := range Table {
		if flags&f.Bit != 0 {
			dst = append(dst, f.Name)
		}
	}
	return dst
}

// Each calls fn with the name of each set flag, without allocating.
func Each(flags uint64, fn func(string)) {
	for _, f := range Table {
		if flags&f.Bit != 0 {
			fn(f.Name)
		}
	}
}

// Parse returns the bit for a flag name.
func Parse(name string) (uint64, bool) {
	for _, f := range Table {
		if f.Name == name {
			return f.Bit, true
		}
	}
	return 0, false
}
