// Package resolve turns namespace inode numbers into what people recognise:
// the host's own namespaces, `ip netns` names, the container, pod, machine
// or systemd unit a namespace belongs to, its owner and its creator.
//
// A Resolver starts from an inventory (tracer/internal/inventory) and labels events
// on the hot path, learning from them as they come: a create records its
// creator, a join into an unknown namespace looks it up. The Inventory
// serialises to JSON, so a session file can carry it and
// New(inv, WithoutLiveLookups()) labels a replay on another machine as the
// live run did.
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
package resolve
