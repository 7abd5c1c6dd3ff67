// Package inventory takes stock of the namespaces on a host and holds
// what is known of each: Namespace, and the Inventory of them all, in a
// form a session file carries so that a replay elsewhere labels alike.
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
// A namespace's names come from nsfs bind mounts (`ip netns add blue`
// mounts /run/netns/blue). A MountTable follows one mount namespace's
// nsfs mounts, reading the table again only after the kernel flags a
// change to it (POLLPRI on an open mountinfo), for a resolver that names
// events as they come.
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
// their cgroups (see tracer/internal/container). Host namespaces get none.
package inventory
