package event

import (
	"syscall"
	"time"
)

// Kind says what happened.
type Kind uint8

// The kinds of event: the syscalls and the records nstrace makes itself.
const (
	KindUnknown Kind = iota
	Clone            // a new task (pid/tid are the child's)
	Unshare
	Setns
	Exec    // an execve moved the task into its time_for_children namespace
	Destroy // a namespace was freed (where the kernel lets us see it)
	Lost    // records the kernel could not deliver (Lost field counts them)
	Flood   // events of one source past its share, counted instead of sent (Count)
)

// LostShutdown is the Cause of records still in the ring when the drain at
// shutdown ran out of time, or that were being processed then.
const LostShutdown = "shutdown"

var kindNames = [...]string{"unknown", "clone", "unshare", "setns", "exec", "destroy", "lost", "flood"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s && i != 0 {
			return Kind(i), true
		}
	}
	return KindUnknown, false
}

// NsType is one of the entries of /proc/PID/ns, in that directory's order.
type NsType uint8

// The namespace types; NumNsTypes counts them, so that
// range NsType(NumNsTypes) lists them in /proc order.
const (
	Cgroup NsType = iota
	IPC
	Mnt
	Net
	Pid
	PidForChildren
	Time
	TimeForChildren
	User
	UTS
	NumNsTypes int = iota
)

var nsTypeNames = [...]string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

func (t NsType) String() string {
	if int(t) < len(nsTypeNames) {
		return nsTypeNames[t]
	}
	return "unknown"
}

// ParseNsType is the inverse of NsType.String.
func ParseNsType(s string) (NsType, bool) {
	for i, n := range nsTypeNames {
		if n == s {
			return NsType(i), true
		}
	}
	return 0, false
}

// Action says whether a change made a new namespace or entered an existing one.
type Action uint8

// The actions a change can take.
const (
	ActionUnknown Action = iota
	Create
	Join
	ActionDestroy // the namespace was destroyed
)

var actionNames = [...]string{"unknown", "create", "join", "destroy"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// ParseAction is the inverse of Action.String.
func ParseAction(s string) (Action, bool) {
	for i, n := range actionNames {
		if n == s && i != 0 {
			return Action(i), true
		}
	}
	return ActionUnknown, false
}

// Container identifies the container, pod or unit a process or namespace
// belongs to. Values are shared between events; treat them as read-only.
type Container struct {
	ID      string `json:"id,omitempty"`
	Runtime string `json:"runtime,omitempty"` // docker, containerd, cri-o, podman, oci, kubernetes, nspawn, systemd
	// Name is the container's own name where its runtime gives it one
	// (docker --name, a CRI container's metadata name), a machine's or a
	// unit's name; never a pod's, which is in Pod.
	Name string `json:"name,omitempty"`
	// The runtime's identity of the container (pod.go).
	Image string `json:"image,omitempty"`
	Pod   *Pod   `json:"pod,omitempty"`
}

// Label is the short text for a container in a table or a line:
// "pod shop/web-7d9f/nginx", "pod shop/web-7d9f" (the pod itself or its
// sandbox), "ctr webfront", "ctr 3f2a9c8e71d0…", "pod 1c7f…",
// "unit nginx.service", "machine web".
func (c *Container) Label() string {
	switch {
	case c == nil:
		return ""
	case c.Pod != nil:
		return c.Pod.label(c.Name)
	case c.Runtime == "systemd":
		return "unit " + c.Name
	case c.Runtime == "nspawn" || c.Runtime == "libvirt":
		return "machine " + c.Name
	case c.Runtime == "kubernetes":
		return "pod " + shortID(c.ID)
	case c.Name != "":
		return "ctr " + c.Name
	}
	return "ctr " + shortID(c.ID)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

// Change is one namespace of one type that an event moved the task between.
type Change struct {
	Type   NsType
	Action Action
	From   uint32 // inode before (0 when unknown, e.g. destroy)
	To     uint32 // inode after
	NsID   uint64 // 64-bit never-reused id of To, where the kernel has one

	// Filled by resolution; zero when unknown.
	Name      string     // e.g. the `ip netns` name
	Host      bool       // To is an initial (host) namespace
	Owner     uint32     // inode of the owning user namespace
	Container *Container // the container To belongs to
}

// Target is the namespace a failed setns aimed at, when its fd named one.
type Target struct {
	Type  NsType
	Inode uint32
}

// Event is one namespace-changing syscall, a new task, an exec into a time
// namespace, a destroyed namespace, or a loss marker.
type Event struct {
	Time     time.Time
	Kind     Kind
	Pid      uint32 // for clone: the child
	Tid      uint32
	Ppid     uint32
	UID      uint32
	Comm     string
	Flags    uint64        // the CLONE_* flags or setns nstype passed
	Errno    syscall.Errno // non-zero for a failed attempt
	Target   *Target       // failed setns only
	CgroupID uint64        // the task's cgroup v2 id, for container lookup
	// Where CgroupID is the v2 root's (a host that runs containers under
	// cgroup v1): the id of the task's v1 memory cgroup, for container
	// lookup; not written out.
	MemCgroupID uint64
	UserNS      uint32 // inode of the caller's user namespace (owner of what it creates)
	Changes     []Change
	Lost        uint64 // Kind == Lost: how many records were dropped
	Cause       string // Kind == Lost: why; "" for the kernel's drops (LostShutdown...)

	// Kind == Flood: Count events of kind Counted (and Errno) by UID,
	// CgroupID and Comm were counted instead of sent.
	Count   uint64
	Counted Kind

	Container *Container // the process's container, from resolution

	// The caller's login uid (NoAuid when unset) and effective
	// capabilities before the call, relative to its own user namespace;
	// HasCreds says the record carried them.
	Auid     uint32
	Caps     uint64
	HasCreds bool
	Process  *Process // the process behind the event, where known

	// Where the task (for clone: the child) is after the event, by type:
	// its mount, pid, uts and ipc namespaces as the kernel read them with
	// the event, 0 where it did not (other types; replayed sessions).
	// Detection places a task with them; they are not written out.
	Where [NumNsTypes]uint32
}

// Failed reports whether the event is a denied or failed attempt.
func (e *Event) Failed() bool { return e.Errno != 0 }

// Reset clears e for reuse, keeping the Changes backing array.
func (e *Event) Reset() {
	changes := e.Changes[:0]
	*e = Event{Changes: changes}
}

// Clone returns a deep copy that does not share the Changes array.
func (e *Event) Clone() *Event {
	c := *e
	c.Changes = append([]Change(nil), e.Changes...)
	if e.Target != nil {
		t := *e.Target
		c.Target = &t
	}
	return &c
}
