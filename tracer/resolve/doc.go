// Package resolve turns namespace inode numbers into what people recognise:
// the host's own namespaces, `ip netns` names, the container, pod, machine
// or systemd unit a namespace belongs to, its owner and its creator.
//
// Scan takes an Inventory of every namespace on the host: from
// /proc/*/ns and /proc/*/task/*/ns, from open namespace file descriptors,
// and from nsfs bind mounts in every mount namespace, so a namespace kept
// alive only by a mount (`ip netns add`) is known too. nsfs ioctls add the
// 64-bit id (NS_GET_ID, Linux 6.18+), the owning user namespace, the parent
// of pid and user namespaces, and a user namespace's owner uid; whatever
// the kernel refuses (ENOTTY on older kernels, EPERM across user
// namespaces) is left out.
//
// A Resolver starts from an inventory and labels events on the hot path,
// learning from them as they come: a create records its creator, a join
// into an unknown namespace looks it up. The Inventory serialises to JSON,
// so a session file can carry it and New(inv, WithoutLiveLookups()) labels
// a replay on another machine as the live run did.
//
// # Upkeep
//
// Resolve never blocks on the system for a namespace it knows. Inode
// numbers are reused once a namespace dies, and events come late: where
// the event or nsfs gives the 64-bit ns_id, a label is only carried over
// from a namespace with the same id. The event stream alone cannot tell
// that a namespace died, so a live tracer calls Refresh about once per
// grace period: namespaces with no member, mount or open descriptor left
// are forgotten a grace period later, and WithMaxNamespaces caps memory
// regardless.
//
// # Names
//
// A namespace's names come from nsfs bind mounts (`ip netns add blue`
// mounts /run/netns/blue). Our own mount table is kept open and read again
// only after the kernel flags a change to it (POLLPRI on an open
// mountinfo), so events cost no mount table read; WatchMounts reads it as
// changes happen, and a held net create makes Resolve check for a change
// before it is released, so two tracers name the same events alike; a join
// into an unnamed net namespace checks too, at most once per millisecond. A mount seen with a 64-bit id
// keeps naming its namespace for the grace period after the unmount. The
// mount table of a task in another mount namespace (`ip netns add` in a
// container) is read only for an unnamed namespace it joins or awaits a
// name for, backing off.
//
// # Which namespaces are the host's
//
// A namespace is marked Host when either holds:
//
//   - its inode is the fixed number the kernel gives the initial namespace
//     of its type (enum init_ns_ino in linux/nsfs.h: 0xEFFFFFF8 mnt to
//     0xEFFFFFFF ipc). ipc, uts, user, pid, cgroup and time have always had
//     them, mnt and net since 6.18; dynamic inodes start at 0xF0000000, so
//     the rule has no false positives and holds inside a container too;
//   - it is a namespace of kthreadd (pid 2, parent 0): kernel threads live
//     in the initial namespaces. This covers mnt and net before 6.18 when
//     /proc is the host's.
//
// PID 1 is not used: in a container it is the container's init, and on a
// host its /proc entry may be unreadable even to root.
//
// # Containers
//
// A namespace's container is the one its member processes share, from
// their cgroup paths (see container.Classify): docker, containerd and cri-o
// (Kubernetes), podman, runc and crun (by state directory, or a 64-hex
// cgroup leaf), systemd-nspawn machines and, failing all, the *.service unit.
// Host namespaces get none.
package resolve
