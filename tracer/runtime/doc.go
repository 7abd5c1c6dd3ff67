// Package runtime says who a container is according to its runtime: the
// name it was given, its image, and for a Kubernetes pod's containers the
// pod's name, namespace, UID, labels and network namespace. It asks the
// runtimes themselves: the CRI (gRPC, on containerd's and cri-o's sockets)
// and the Docker Engine API (docker, and podman's compatible service).
//
// A Watcher keeps what the runtimes said in a cache. It lists the running
// containers when it starts, then follows each runtime's event stream
// (Docker's /events; for the CRI, which containerd 1.6 gives no event
// stream, a list every second, in which a container stays until it is
// removed, exited or not). Lookup answers from the cache and never waits
// for a runtime: a miss queues a background query, bounded, and the
// queries a full queue drops are counted. A runtime that is absent costs a
// stat of its socket now and then; one that stops answering costs a timed
// out request, never a caller's time.
//
// # Joining a kernel event to a container
//
// The key is the container id in the process's cgroup path, read from
// /proc/PID/cgroup and cached per pid and start time (tracer/resolve does
// this): docker, podman, containerd and cri-o all name a container's cgroup
// after its full 64-hex id, in every hierarchy, with the cgroupfs driver
// ("/docker/ID", "/libpod_parent/libpod-ID", "/kubepods/besteffort/podUID/ID")
// and the systemd one ("docker-ID.scope", "cri-containerd-ID.scope",
// "crio-ID.scope", "libpod-ID.scope"). That works on v1, hybrid and v2
// hosts alike. The cgroup id the kernel record carries does not: it is the
// inode of the v2 (unified) cgroup, which on a hybrid host is whatever the
// runtime chose to create in the unified hierarchy, often nothing, leaving
// the root for every process; on a pure v1 host it is always the root.
// Lookup takes the id the resolver found and returns the runtime's
// Identity for it.
package runtime
