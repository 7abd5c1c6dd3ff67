package container

import (
	"strconv"
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
)

// Runtimes, as event.Container.Runtime names them.
const (
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd" // also a bare id in a Kubernetes pod's cgroup
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
	RuntimeRunc       = "runc"
	RuntimeCrun       = "crun"
	RuntimeOCI        = "oci"        // a 64-hex cgroup leaf of an unknown OCI runtime
	RuntimeKubernetes = "kubernetes" // a pod: ID is the pod's UID
	RuntimeNspawn     = "nspawn"     // a systemd-nspawn machine: ID and Name are its name
	RuntimeLibvirt    = "libvirt"    // a libvirt machine (qemu-…, lxc-…)
	RuntimeSystemd    = "systemd"    // a unit: Name is the unit, e.g. "nginx.service"
)

// Classify says which container, pod, machine or systemd unit a
// cgroup path (as in /proc/PID/cgroup) belongs to; nil for none. The
// innermost container wins over the unit that started it.
func Classify(path string) *event.Container {
	return classify(path, nil).Container
}

// Class is a classified cgroup path: its container and, inside a
// Kubernetes pod, the pod's UID.
type Class struct {
	Container *event.Container
	Pod       string
}

// classify walks the path from the leaf up. stateRuntime, when not nil,
// names the OCI runtime that keeps state for a container id ("" if none).
func classify(path string, stateRuntime func(id string) string) Class {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var cl Class
	for _, p := range parts {
		if uid := podUID(p); uid != "" {
			cl.Pod = uid
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		parent := ""
		if i > 0 {
			parent = parts[i-1]
		}
		if ctr := containerOf(parts[i], parent, cl.Pod, stateRuntime); ctr != nil {
			cl.Container = ctr
			return cl
		}
	}
	if cl.Pod != "" {
		cl.Container = &event.Container{ID: cl.Pod, Runtime: RuntimeKubernetes}
		return cl
	}
	for i := len(parts) - 1; i >= 0; i-- {
		if name, ok := machineName(parts[i]); ok {
			rt := RuntimeNspawn
			if strings.HasPrefix(name, "qemu-") || strings.HasPrefix(name, "lxc-") {
				rt = RuntimeLibvirt
			}
			cl.Container = &event.Container{ID: name, Runtime: rt, Name: name}
			return cl
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.HasSuffix(parts[i], ".service") && len(parts[i]) > len(".service") {
			cl.Container = &event.Container{Runtime: RuntimeSystemd, Name: unescapeUnit(parts[i])}
			return cl
		}
	}
	return cl
}

// scopePrefixes are the cgroup names runtimes give a container: the prefix,
// then the id, then optionally ".scope" (systemd driver).
var scopePrefixes = []struct {
	prefix, runtime string
	anyID           bool // ids need not be 64 hex digits
}{
	{"docker-", RuntimeDocker, false},
	{"cri-containerd-", RuntimeContainerd, false},
	{"crio-", RuntimeCRIO, false},
	{"libpod-", RuntimePodman, false},
	{"runc-", RuntimeRunc, true},
	{"crun-", RuntimeCrun, true},
}

// containerOf classifies one path element.
func containerOf(p, parent, pod string, stateRuntime func(string) string) *event.Container {
	base, scope := strings.CutSuffix(p, ".scope")
	for _, s := range scopePrefixes {
		id, ok := strings.CutPrefix(base, s.prefix)
		// crio-conmon-…, libpod-conmon-…: the monitor, outside the container.
		if ok && (isHex64(id) || s.anyID && scope && id != "") {
			return &event.Container{ID: id, Runtime: s.runtime}
		}
	}
	if isHex64(p) {
		switch {
		case parent == "docker":
			return &event.Container{ID: p, Runtime: RuntimeDocker}
		case parent == "libpod_parent":
			return &event.Container{ID: p, Runtime: RuntimePodman}
		case pod != "":
			return &event.Container{ID: p, Runtime: RuntimeContainerd}
		}
		rt := RuntimeOCI
		if stateRuntime != nil {
			if r := stateRuntime(p); r != "" {
				rt = r
			}
		}
		return &event.Container{ID: p, Runtime: rt}
	}
	if stateRuntime != nil {
		if r := stateRuntime(p); r != "" {
			return &event.Container{ID: p, Runtime: r}
		}
	}
	return nil
}

// podUID recognises a pod's cgroup: "pod<uid>" (cgroupfs driver) or
// "kubepods-<qos>-pod<uid with _ for ->.slice" (systemd driver).
func podUID(p string) string {
	var uid string
	if s, ok := strings.CutSuffix(p, ".slice"); ok && strings.HasPrefix(s, "kubepods") {
		i := strings.LastIndex(s, "-pod")
		if i < 0 {
			return ""
		}
		uid = strings.ReplaceAll(s[i+len("-pod"):], "_", "-")
	} else if s, ok := strings.CutPrefix(p, "pod"); ok {
		uid = s
	}
	// A UID, or the 32-hex config hash of a static pod.
	if len(uid) == 36 && isHexOrDash(uid) || len(uid) == 32 && isHexOrDash(uid) && !strings.Contains(uid, "-") {
		return uid
	}
	return ""
}

// machineName recognises systemd-machined's "machine-<escaped name>.scope".
func machineName(p string) (string, bool) {
	s, ok := strings.CutPrefix(p, "machine-")
	if !ok {
		return "", false
	}
	s, ok = strings.CutSuffix(s, ".scope")
	if !ok || s == "" {
		return "", false
	}
	return unescapeUnit(s), true
}

// unescapeUnit undoes systemd's unit-name escaping: \x2d is '-'.
func unescapeUnit(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHexOrDash(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// Consensus is the container that a namespace's member processes share.
// Members in no container (a host shell that nsenter'ed in) do not count
// against it; members of different containers of one pod make it the pod.
type Consensus struct {
	ctr      *event.Container
	pod      string
	mixed    bool // members in different containers
	podMixed bool // members in different pods, or some in none
}

// Add counts a member process, classified by its cgroup.
func (c *Consensus) Add(cl Class) {
	switch {
	case cl.Container == nil:
	case c.ctr == nil:
		c.ctr, c.pod = cl.Container, cl.Pod
	default:
		c.mixed = c.mixed || *c.ctr != *cl.Container
		c.podMixed = c.podMixed || c.pod != cl.Pod
	}
}

// Result is the container the members share; nil for none.
func (c *Consensus) Result() *event.Container {
	switch {
	case c.ctr == nil:
		return nil
	case !c.mixed:
		return c.ctr
	case c.pod != "" && !c.podMixed:
		return &event.Container{ID: c.pod, Runtime: RuntimeKubernetes}
	}
	return nil
}
