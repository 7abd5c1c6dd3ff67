// Package container tells which container, pod, machine or systemd unit a
// process belongs to, from what the kernel and the OCI runtimes leave on the
// host: cgroup paths (docker, containerd and cri-o, podman, runc and crun,
// systemd-nspawn and libvirt machines, failing all the *.service unit),
// cgroup v2 ids (the id an event carries is its directory's inode), and the
// state directories of runc and crun, whose init processes it names when
// cgroups say nothing. It asks no runtime: tracer/internal/runtime does that.
package container
