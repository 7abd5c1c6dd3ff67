package inventory

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
)

// nsfs ioctls, from include/uapi/linux/nsfs.h (x/sys/unix has none).
const (
	nsGetUserns   = 0xb701     // _IO(0xb7, 0x1): fd of the owning user namespace
	nsGetParent   = 0xb702     // _IO(0xb7, 0x2): fd of the parent (pid, user)
	nsGetOwnerUID = 0xb704     // _IO(0xb7, 0x4): uid_t of a user namespace's creator
	nsGetID       = 0x8008b70d // _IOR(0xb7, 13, __u64): the 64-bit id, Linux 6.18+
)

// MaxNesting bounds the walk up owners and parents; the kernel allows 32
// levels of user and pid namespaces.
const MaxNesting = 40

// Facts is what the nsfs ioctls tell about one namespace.
type Facts struct {
	Type     event.NsType
	Inode    uint32
	NsID     uint64
	Owner    uint32
	Parent   uint32
	OwnerUID *uint32
}

// Apply copies what f knows into n.
func (f *Facts) Apply(n *Namespace) {
	if f.NsID != 0 {
		n.NsID = f.NsID
	}
	if f.Owner != 0 {
		n.Owner = f.Owner
	}
	if f.Parent != 0 {
		n.Parent = f.Parent
	}
	if f.OwnerUID != nil {
		n.OwnerUID = f.OwnerUID
	}
}

// Prober reads the Facts of the namespace whose nsfs file is at path, which
// must still be namespace ino of type t, and of the owners and parents
// reachable from it that known does not hold yet. It returns nothing when
// the file is gone, unreadable, or now another namespace.
type Prober func(path string, t event.NsType, ino uint32, known func(Key) bool) []Facts

// ProbeNsfs is the Prober of a live system.
func ProbeNsfs(path string, t event.NsType, ino uint32, known func(Key) bool) []Facts {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	if inodeOf(fd) != ino {
		return nil
	}
	var out []Facts
	walkNsfs(fd, BaseType(t), ino, known, &out, 0)
	return out
}

// walkNsfs appends the Facts of the namespace open at fd, then follows its
// owner and parent. ENOTTY (an older kernel without NS_GET_ID) and EPERM
// (an owner outside our user namespace, or none: the initial one) leave
// the field zero.
func walkNsfs(fd int, t event.NsType, ino uint32, known func(Key) bool, out *[]Facts, depth int) {
	f := Facts{Type: t, Inode: ino}
	var id uint64
	if ioctlPtr(fd, nsGetID, unsafe.Pointer(&id)) == nil {
		f.NsID = id
	}
	if t == event.User {
		var uid uint32
		if ioctlPtr(fd, nsGetOwnerUID, unsafe.Pointer(&uid)) == nil {
			f.OwnerUID = &uid
		}
	}
	*out = append(*out, f)
	i := len(*out) - 1
	follow := func(req uint, rt event.NsType) uint32 {
		rfd, err := unix.IoctlRetInt(fd, req)
		if err != nil {
			return 0
		}
		defer unix.Close(rfd)
		rino := inodeOf(rfd)
		if rino != 0 && depth < MaxNesting && !known(KeyOf(rt, rino)) && !Holds(*out, rt, rino) {
			walkNsfs(rfd, rt, rino, known, out, depth+1)
		}
		return rino
	}
	owner := follow(nsGetUserns, event.User)
	(*out)[i].Owner = owner
	if t == event.Pid || t == event.User {
		(*out)[i].Parent = follow(nsGetParent, t)
	}
}

// Holds tells whether fs has the facts of namespace ino of type t.
func Holds(fs []Facts, t event.NsType, ino uint32) bool {
	for _, f := range fs {
		if f.Type == t && f.Inode == ino {
			return true
		}
	}
	return false
}

func inodeOf(fd int) uint32 {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	return uint32(st.Ino)
}

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}
