package event

import (
	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
)

// cloneFlagNames is cloneflags.Table as the JSON codec walks it: the
// flags that matter to namespaces, in the order they are printed.
var cloneFlagNames = func() []cloneFlag {
	t := make([]cloneFlag, len(cloneflags.Table))
	for i, f := range cloneflags.Table {
		t[i] = cloneFlag{f.Bit, f.Name}
	}
	return t
}()

type cloneFlag struct {
	bit  uint64
	name string
}

// parseFlagName returns the bit for a flag name.
func parseFlagName(name string) (uint64, bool) { return cloneflags.Parse(name) }

// CloneFlag is the CLONE_NEW* flag that creates a namespace of type t.
func (t NsType) CloneFlag() uint64 {
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
