// Package runtime says who a container is according to its runtime: the
// name it was given, its image, and for a Kubernetes pod's containers the
// pod's name, namespace, UID, labels and network namespace. It asks the
// runtimes themselves: the CRI (gRPC, on containerd's and cri-o's sockets)
// and the Docker Engine API (docker, and podman's compatible service).
//
// A Watcher keeps what the runtimes said in a cache. It lists the running
// containers when it starts, then follows each runtime's event stream
// (Docker's /events; for the CRI, which containerd 1.6 gives no event
// stream, a list on each event of containerd's own stream and every
// second, in which a container stays until it is removed, exited or not). Lookup answers from the cache and never waits
// for a runtime: a miss queues a background query, bounded, and the
// queries a full queue drops are counted. A runtime that is absent costs a
// stat of its socket now and then; one that stops answering costs a timed
// out request, never a caller's time.
//
// # Joining a kernel event to a container
//
// The key is the container id in the process's cgroup path, read from
// /proc/PID/cgroup and cached per pid and start time, as tracer/internal/resolve
// does; Lookup takes that id. Docker, podman, containerd and cri-o all
// name a container's cgroup after its full 64-hex id, in every hierarchy,
// with the cgroupfs driver ("/docker/ID", "/libpod_parent/libpod-ID",
// "/kubepods/besteffort/podUID/ID" for a CRI container, the sandbox's id
// for its pause process) and with the systemd one ("docker-ID.scope",
// "cri-containerd-ID.scope", "crio-ID.scope", "libpod-ID.scope"). Read
// from any v1 hierarchy (name=systemd first) or from the v2 line, it works
// on v1, hybrid and v2 hosts alike.
//
// The cgroup id in the kernel record is the inode of the process's v2
// (unified) cgroup. On a hybrid host that names a container only if the
// runtime also placed it in the unified hierarchy: runc does (on the test
// machine, a hybrid host, docker's, containerd's and podman's containers
// show "0::/docker/ID" and the like), but every process left at the
// unified root shares one id there, and on a pure v1 host all do. So the
// cgroup id is at best a shortcut to the path (tracer/internal/resolve maps it), and
// the id in the path is the key.
//
// # Labelling events
//
// An Enricher, one per pipeline (tracer/internal/pipeline), labels events from the
// cache: the container the resolver found gets its name, image and pod.
// It is a pipeline Waiter: an event whose container is being asked about
// is held for the answer no longer than the hold-back holds a net
// namespace for its name. LabelInventory labels an inventory the same way
// (nstrace ls, a session's header).
//
// A namespace shared by a pod's containers (network, IPC, UTS) is the
// pod's: tracer/internal/resolve names it by the pod UID in the cgroup path, which
// PodByUID turns into the pod; the network namespace's mount, which
// containerd and cri-o make under /var/run/netns, is found by PodByNetNS.
package runtime
