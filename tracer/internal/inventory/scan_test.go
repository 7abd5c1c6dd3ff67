package inventory_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
)

const (
	hostMnt, hostNet, hostTime, hostCgroup = 4026531832, 4026531833, 4026531834, 4026531835
	hostPid, hostUser, hostUTS, hostIPC    = 4026531836, 4026531837, 4026531838, 4026531839
	pod                                    = "1c7f3a52-9a0e-4d7b-8c1a-2b3c4d5e6f70"
)

func TestScanFakeHost(t *testing.T) {
	inv := inventorytest.Scan(t)
	uid1000 := uint32(1000)
	tests := []struct {
		name  string
		typ   event.NsType
		ino   uint32
		check func(n inventory.Namespace) string
	}{
		{"the host's net namespace is host, counts each process once, lowest pid first", event.Net, hostNet,
			want{host: true, procs: 8, pid: 1, comm: "systemd", owner: hostUser, nsid: 3}.check},
		{"the host's user namespace has no owner and an owner uid", event.User, hostUser,
			want{host: true, procs: 18, pid: 1, nsid: 4099, ownerUID: new(uint32)}.check},
		{"a docker container's namespaces carry its id", event.Mnt, 4026532301,
			want{procs: 1, pid: 300, comm: "sleep", ctr: &event.Container{ID: inventorytest.ID("docker"), Runtime: "docker"}}.check},
		{"docker's netns bind mount names its network", event.Net, 4026532305,
			want{procs: 1, pid: 300, names: []string{"abc123"}, mounts: []string{"/run/docker/netns/abc123"},
				ctr: &event.Container{ID: inventorytest.ID("docker"), Runtime: "docker"}}.check},
		{"a pid namespace has its parent", event.Pid, 4026532304,
			want{procs: 1, pid: 300, owner: hostUser, parent: hostPid, nsid: 5005,
				ctr: &event.Container{ID: inventorytest.ID("docker"), Runtime: "docker"}}.check},
		{"a pod's shared network is labelled with the pod", event.Net, 4026532315,
			want{procs: 2, pid: 310, comm: "pause", uid: 65535, ctr: &event.Container{ID: pod, Runtime: "kubernetes"}}.check},
		{"a pod container's own mount namespace has its container id", event.Mnt, 4026532316,
			want{procs: 1, pid: 311, comm: "app", uid: 1000, ctr: &event.Container{ID: inventorytest.ID("app"), Runtime: "containerd"}}.check},
		{"cri-o with cgroupfs is cri-o, and conmon stays outside", event.Mnt, 4026532321,
			want{procs: 1, pid: 320, ctr: &event.Container{ID: inventorytest.ID("crio"), Runtime: "cri-o"}}.check},
		{"a podman container is podman", event.Net, 4026532332,
			want{procs: 1, pid: 330, ctr: &event.Container{ID: inventorytest.ID("podman"), Runtime: "podman"}}.check},
		{"a runc container with a plain name is found by its state directory", event.Mnt, 4026532341,
			want{procs: 1, pid: 340, ctr: &event.Container{ID: "web", Runtime: "runc"}}.check},
		{"a 64-hex cgroup leaf of an unknown runtime is an OCI container", event.Net, 4026532344,
			want{procs: 1, pid: 341, ctr: &event.Container{ID: inventorytest.ID("oci"), Runtime: "oci"}}.check},
		{"a rootless runc container without cgroups is found by its init pid", event.Net, 4026532346,
			want{procs: 1, pid: 345, comm: "sh", uid: 1000, ctr: &event.Container{ID: "rootless1", Runtime: "runc"}}.check},
		{"a stale runc state file does not claim a reused pid", event.Mnt, 4026532347,
			want{procs: 1, pid: 346, ctr: &event.Container{Runtime: "systemd", Name: "cron.service"}}.check},
		{"an nspawn machine is labelled with its unescaped name", event.UTS, 4026532354,
			want{procs: 1, pid: 350, ctr: &event.Container{ID: "my-box", Runtime: "nspawn", Name: "my-box"}}.check},
		{"a service's private network is labelled with its unit", event.Net, 4026532362,
			want{procs: 1, pid: 360, uid: 33, ctr: &event.Container{Runtime: "systemd", Name: "nginx.service"}}.check},
		{"a nested user namespace has its parent, owner and owner uid", event.User, 4026532372,
			want{procs: 1, pid: 370, uid: 1000, nsid: 5002, owner: 4026532371, parent: 4026532371, ownerUID: &uid1000}.check},
		{"a user namespace kept only by its child is listed without processes", event.User, 4026532371,
			want{nsid: 5001, owner: hostUser, parent: hostUser, ownerUID: &uid1000}.check},
		{"a network owned by a nested user namespace says so", event.Net, 4026532373,
			want{procs: 1, pid: 370, uid: 1000, nsid: 5003, owner: 4026532372}.check},
		{"a thread's own network namespace makes its process a member", event.Net, 4026532401,
			want{procs: 1, pid: 400, comm: "agent", ctr: &event.Container{Runtime: "systemd", Name: "agent.service"}}.check},
		{"a network held only by an open fd is listed", event.Net, 4026532501, want{fds: 1}.check},
		{"a pid namespace that only pid_for_children names is listed", event.Pid, 4026532511, want{}.check},
		{"an ip netns is named from its mount", event.Net, 4026532177,
			want{names: []string{"sample1"}, mounts: []string{"/run/netns/sample1"}}.check},
		{"a hostile netns name is kept raw (escaped only on output)", event.Net, 4026532178,
			want{names: []string{"\x1b]0;x\a"}, mounts: []string{"/run/netns/\x1b]0;x\a"}}.check},
		{"octal escapes in mountinfo are undone", event.Net, 4026532179,
			want{names: []string{"we ird\nname"}, mounts: []string{"/run/netns/we ird\nname"}}.check},
		{"an nsfs mount outside a netns directory names it too", event.Mnt, 4026532180,
			want{names: []string{"mnt_ns"}, mounts: []string{"/tmp/keep me/mnt_ns"}}.check},
		{"a netns mounted only in a container's mount namespace is found", event.Net, 4026532181,
			want{names: []string{"cni-1234"}, mounts: []string{"/var/run/netns/cni-1234"}}.check},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := inventorytest.Find(inv, tt.typ, tt.ino)
			if !ok {
				t.Fatalf("%s %d not in the inventory", tt.typ, tt.ino)
			}
			if msg := tt.check(n); msg != "" {
				got, _ := json.Marshal(n)
				t.Errorf("%s\ngot %s", msg, got)
			}
		})
	}
}

// want is what a test expects of a namespace; zero fields must be zero.
type want struct {
	host          bool
	procs, fds    int
	pid, uid      uint32
	comm          string
	owner, parent uint32
	nsid          uint64
	ownerUID      *uint32
	names, mounts []string
	ctr           *event.Container
}

func (w want) check(n inventory.Namespace) string {
	switch {
	case n.Host != w.host:
		return fmt.Sprintf("host = %v, want %v", n.Host, w.host)
	case n.Processes != w.procs || n.PID != w.pid:
		return fmt.Sprintf("processes, pid = %d, %d; want %d, %d", n.Processes, n.PID, w.procs, w.pid)
	case w.comm != "" && n.Comm != w.comm, n.UID != w.uid:
		return fmt.Sprintf("comm, uid = %q, %d; want %q, %d", n.Comm, n.UID, w.comm, w.uid)
	case n.FDs != w.fds:
		return fmt.Sprintf("fds = %d, want %d", n.FDs, w.fds)
	case w.owner != 0 && n.Owner != w.owner, n.Parent != w.parent, w.nsid != 0 && n.NsID != w.nsid:
		return fmt.Sprintf("owner, parent, ns_id = %d, %d, %d; want %d, %d, %d", n.Owner, n.Parent, n.NsID, w.owner, w.parent, w.nsid)
	case !reflect.DeepEqual(n.OwnerUID, w.ownerUID):
		return "owner uid differs"
	case !slices.Equal(n.Names, w.names) || !slices.Equal(n.Mounts, w.mounts):
		return fmt.Sprintf("names, mounts = %q, %q; want %q, %q", n.Names, n.Mounts, w.names, w.mounts)
	case !reflect.DeepEqual(n.Container, w.ctr):
		return fmt.Sprintf("container = %+v, want %+v", n.Container, w.ctr)
	}
	return ""
}

func TestScanListsExactlyTheNamespacesOfTheTree(t *testing.T) {
	inv := inventorytest.Scan(t)
	var got []string
	for _, n := range inv.Namespaces {
		got = append(got, fmt.Sprintf("%s:%d", n.Type, n.Inode))
	}
	want := []string{"mnt:4026531832", "net:4026531833", "time:4026531834", "cgroup:4026531835",
		"pid:4026531836", "user:4026531837", "uts:4026531838", "ipc:4026531839",
		"net:4026532177", "net:4026532178", "net:4026532179", "mnt:4026532180", "net:4026532181",
		"mnt:4026532301", "uts:4026532302", "ipc:4026532303", "pid:4026532304", "net:4026532305",
		"mnt:4026532311", "uts:4026532312", "ipc:4026532313", "pid:4026532314", "net:4026532315",
		"mnt:4026532316", "pid:4026532317", "mnt:4026532321", "net:4026532322",
		"mnt:4026532331", "net:4026532332", "pid:4026532333", "mnt:4026532341", "net:4026532342",
		"mnt:4026532343", "net:4026532344", "mnt:4026532345", "net:4026532346", "mnt:4026532347",
		"mnt:4026532351", "net:4026532352", "pid:4026532353", "uts:4026532354",
		"mnt:4026532361", "net:4026532362", "user:4026532371", "user:4026532372", "net:4026532373",
		"mnt:4026532374", "net:4026532401", "net:4026532501", "pid:4026532511"}
	if !slices.Equal(got, want) {
		t.Errorf("inventory\n got %q\nwant %q", got, want)
	}
	if inv.Unreadable != 1 {
		t.Errorf("unreadable = %d, want 1 (pid 390)", inv.Unreadable)
	}
}

func TestScanMapsCgroupIDsToContainers(t *testing.T) {
	inv := inventorytest.Scan(t)
	p := "/system.slice/docker-" + inventorytest.ID("docker") + ".scope"
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(inventorytest.Root, "sys/fs/cgroup", p), &st); err != nil {
		t.Fatal(err)
	}
	want := container.Cgroup{ID: st.Ino, Path: p, Container: &event.Container{ID: inventorytest.ID("docker"), Runtime: "docker"}}
	i := slices.IndexFunc(inv.Cgroups, func(c container.Cgroup) bool { return c.ID == st.Ino })
	if i < 0 || !reflect.DeepEqual(inv.Cgroups[i], want) {
		t.Errorf("cgroups = %+v, want among them %+v", inv.Cgroups, want)
	}
}

func TestInventoryRoundTripsThroughJSON(t *testing.T) {
	inv := inventorytest.Scan(t)
	back := inventorytest.ThroughJSON(t, inv)
	if !reflect.DeepEqual(back.Namespaces, inv.Namespaces) || !reflect.DeepEqual(back.Cgroups, inv.Cgroups) {
		data, _ := json.Marshal(inv)
		t.Errorf("round trip changed the inventory:\n%s", data)
	}
}
