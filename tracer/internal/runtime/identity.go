package runtime

// Identity is who a container is according to the runtime that runs it.
type Identity struct {
	ID      string // the container's full id, as in its cgroup path
	Name    string // its own name: docker --name, the CRI container's metadata name; "" for a pod's sandbox
	Image   string // the image as the container was created from it, e.g. "nginx:1.27"
	Runtime string // who answered: "docker", "podman", "containerd", "cri-o"
	Pod     *Pod   // the pod the container belongs to; nil when not a pod's
	Sandbox bool   // the container is the pod's sandbox (the pause process)
}

// Pod is a Kubernetes pod as the CRI describes its sandbox. Identities of
// one pod share one Pod, which must not be changed.
type Pod struct {
	Name      string
	Namespace string
	UID       string
	Labels    map[string]string
	SandboxID string // the sandbox's container id
	NetNS     string // the path the runtime mounted the pod's network namespace at, e.g. /var/run/netns/cni-…; "" if unknown or the host's
	PausePID  uint32 // the sandbox's init process on the host; 0 if unknown
}
