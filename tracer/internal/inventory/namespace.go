package inventory

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
)

// Inventory is every namespace known at one moment, in a form that travels:
// a session file carries it so that a replay on another machine resolves
// inodes to the same names and containers.
type Inventory struct {
	Time       time.Time   `json:"time"`
	Namespaces []Namespace `json:"namespaces"`
	// Cgroups maps the cgroup ids that events carry to paths and containers.
	Cgroups []container.Cgroup `json:"cgroups,omitempty"`
	// Unreadable counts processes whose namespaces could not be read
	// (EACCES): their namespaces may be missing.
	Unreadable int `json:"unreadable,omitempty"`
}

// Namespace is what is known about one namespace. Type is always a base type
// (pid, time), never pid_for_children or time_for_children: those name a
// pid or time namespace, they are not a kind of their own.
type Namespace struct {
	Type  event.NsType
	Inode uint32
	NsID  uint64 // NS_GET_ID (Linux 6.18+); 0 when the kernel has none

	Owner    uint32  // inode of the owning user namespace; 0 when unknown
	Parent   uint32  // pid and user namespaces: the parent's inode
	OwnerUID *uint32 // user namespaces: the uid that created it
	Host     bool    // an initial namespace (see the package doc)

	Names     []string         // from nsfs bind mounts, e.g. the `ip netns` name
	Mounts    []string         // the nsfs bind mounts that hold it
	Container *event.Container // the container, pod or unit its processes share

	Processes int    // member processes (a thread makes its process a member)
	PID       uint32 // lowest member pid, as lsns shows; 0 without members
	Comm      string // that process's comm
	UID       uint32 // that process's uid
	FDs       int    // open file descriptors referring to it

	Creator *Creator // set when the namespace was created while tracing
}

// Creator is the process that made a namespace, from the event that
// created it: the caller of unshare, or of clone (the new child's parent).
type Creator struct {
	Pid     uint32    `json:"pid"`
	Comm    string    `json:"comm"`
	UID     uint32    `json:"uid"`
	Syscall string    `json:"syscall"` // clone, unshare
	Time    time.Time `json:"time"`
}

// Name is the namespace's best-known name: a name under a `netns`
// directory first, then any other mount's name; "" when unnamed.
func (n *Namespace) Name() string {
	if len(n.Names) == 0 {
		return ""
	}
	return n.Names[0]
}

// namespaceJSON is Namespace's wire form: field names are a contract.
type namespaceJSON struct {
	Type      string           `json:"type"`
	Inode     uint32           `json:"inode"`
	NsID      uint64           `json:"ns_id,omitempty"`
	Host      bool             `json:"host,omitempty"`
	Names     []string         `json:"names,omitempty"`
	Container *event.Container `json:"container,omitempty"`
	Processes int              `json:"processes"`
	PID       uint32           `json:"pid,omitempty"`
	Comm      string           `json:"comm,omitempty"`
	UID       *uint32          `json:"uid,omitempty"`
	Owner     uint32           `json:"owner,omitempty"`
	Parent    uint32           `json:"parent,omitempty"`
	OwnerUID  *uint32          `json:"owner_uid,omitempty"`
	Mounts    []string         `json:"mounts,omitempty"`
	FDs       int              `json:"fds,omitempty"`
	Creator   *Creator         `json:"creator,omitempty"`
}

// MarshalJSON writes the namespace with its type by name.
func (n Namespace) MarshalJSON() ([]byte, error) {
	w := namespaceJSON{Type: n.Type.String(), Inode: n.Inode, NsID: n.NsID, Host: n.Host,
		Names: n.Names, Container: n.Container, Processes: n.Processes, PID: n.PID, Comm: n.Comm,
		Owner: n.Owner, Parent: n.Parent, OwnerUID: n.OwnerUID, Mounts: n.Mounts, FDs: n.FDs,
		Creator: n.Creator}
	if n.PID != 0 {
		uid := n.UID
		w.UID = &uid
	}
	return json.Marshal(w)
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (n *Namespace) UnmarshalJSON(data []byte) error {
	var w namespaceJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	t, ok := ParseType(w.Type)
	if !ok {
		return fmt.Errorf("unknown namespace type %q", w.Type)
	}
	*n = Namespace{Type: t, Inode: w.Inode, NsID: w.NsID, Host: w.Host, Names: w.Names,
		Container: w.Container, Processes: w.Processes, PID: w.PID, Comm: w.Comm,
		Owner: w.Owner, Parent: w.Parent, OwnerUID: w.OwnerUID, Mounts: w.Mounts, FDs: w.FDs,
		Creator: w.Creator}
	if w.UID != nil {
		n.UID = *w.UID
	}
	return nil
}

// Types are the namespace types an inventory holds, in /proc/PID/ns order.
var Types = []event.NsType{event.Cgroup, event.IPC, event.Mnt, event.Net, event.Pid,
	event.Time, event.User, event.UTS}

// ParseType parses a base namespace type name; pid_for_children and
// time_for_children are refused since they are views, not types.
func ParseType(s string) (event.NsType, bool) {
	t, ok := event.ParseNsType(s)
	if !ok || t != BaseType(t) {
		return 0, false
	}
	return t, true
}

// BaseType maps pid_for_children to pid and time_for_children to time.
func BaseType(t event.NsType) event.NsType {
	switch t {
	case event.PidForChildren:
		return event.Pid
	case event.TimeForChildren:
		return event.Time
	}
	return t
}

// Key identifies a namespace in maps: type and inode.
type Key uint64

// KeyOf is the Key of namespace ino of type t.
func KeyOf(t event.NsType, ino uint32) Key { return Key(BaseType(t))<<32 | Key(ino) }

// initialInodes are the inode numbers the kernel gives its initial
// namespaces (include/uapi/linux/nsfs.h, enum init_ns_ino). ipc, uts, user,
// pid, cgroup and time have had them since they exist; mnt and net since
// Linux 6.18 (before, theirs were dynamic). Dynamic inodes start at
// 0xF0000000, so no other namespace can carry one of these.
// An array, not a map: every change of every event asks.
var initialInodes = [event.NumNsTypes]uint32{
	event.IPC: 0xEFFFFFFF, event.UTS: 0xEFFFFFFE, event.User: 0xEFFFFFFD,
	event.Pid: 0xEFFFFFFC, event.Cgroup: 0xEFFFFFFB, event.Time: 0xEFFFFFFA,
	event.Net: 0xEFFFFFF9, event.Mnt: 0xEFFFFFF8,
}

// IsInitial tells whether ino is the fixed inode the kernel gives the
// initial namespace of type t (pid_for_children and time_for_children are
// read as pid and time): a namespace of the host's, wherever it is asked.
func IsInitial(t event.NsType, ino uint32) bool {
	b := BaseType(t)
	return int(b) < len(initialInodes) && initialInodes[b] != 0 && initialInodes[b] == ino
}

// mountName is the name a bind mount gives its namespace: the last path
// element (`ip netns add X` mounts /run/netns/X). namedDir tells whether the
// mount sits in a directory of names (…/netns/), which ranks it first.
func mountName(point string) (name string, namedDir bool) {
	dir, name := path.Split(strings.TrimRight(point, "/"))
	return name, path.Base(dir) == "netns"
}

// AddMount records a bind mount of n and the name it gives.
func (n *Namespace) AddMount(point string) {
	if slices.Contains(n.Mounts, point) {
		return
	}
	n.Mounts = append(n.Mounts, point)
	n.Names = namesOf(n.Mounts)
}

// namesOf lists the names mounts give: those from a …/netns/ directory
// first, then the others, each group in mount order.
func namesOf(mounts []string) []string {
	var ranked, other []string
	for _, p := range mounts {
		name, r := mountName(p)
		switch {
		case name == "" || slices.Contains(ranked, name) || slices.Contains(other, name):
		case r:
			ranked = append(ranked, name)
		default:
			other = append(other, name)
		}
	}
	return append(ranked, other...)
}

// Clone copies n so the copy shares no slice with the resolver.
func (n Namespace) Clone() Namespace {
	n.Names = slices.Clone(n.Names)
	n.Mounts = slices.Clone(n.Mounts)
	return n
}

// SortNamespaces orders by inode, as lsns does, then type.
func SortNamespaces(ns []Namespace) {
	slices.SortFunc(ns, func(a, b Namespace) int {
		return cmp.Or(cmp.Compare(a.Inode, b.Inode), cmp.Compare(a.Type, b.Type))
	})
}

// SortCgroups orders by id.
func SortCgroups(cs []container.Cgroup) {
	slices.SortFunc(cs, func(a, b container.Cgroup) int { return cmp.Compare(a.ID, b.ID) })
}
