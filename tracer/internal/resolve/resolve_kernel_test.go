package resolve

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// Kernel tests: they read the live /proc and start real namespaces with
// iproute2 and runc. They need root; with NSTRACE_KERNEL_TESTS=1 (CI) a
// skip is a failure.

func requireRoot(t *testing.T, tools ...string) {
	t.Helper()
	testenv.RequireKernel(t)
	for _, tool := range tools {
		testenv.RequireTool(t, tool)
	}
}

// kernelNsID asks the kernel for the 64-bit id of the namespace at path;
// 0 where the kernel has no NS_GET_ID.
func kernelNsID(t *testing.T, path string) uint64 {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const nsGetID = 0x8008b70d // _IOR(0xb7, 13, __u64), include/uapi/linux/nsfs.h
	var id uint64
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetID, uintptr(unsafe.Pointer(&id)))
	if errno != 0 && errno != unix.ENOTTY {
		t.Fatalf("NS_GET_ID %s: %v", path, errno)
	}
	return id
}

func mustFind(t *testing.T, inv *inventory.Inventory, typ event.NsType, ino uint32) inventory.Namespace {
	t.Helper()
	n, ok := inventorytest.Find(inv, typ, ino)
	if !ok {
		t.Fatalf("%s %d is not in the inventory", typ, ino)
	}
	return n
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// lsnsSet is what `lsns -J` lists, as "type:inode"; nil when lsns failed,
// as it does (status 1) when a process it reads goes away meanwhile.
func lsnsSet(t *testing.T) map[string]bool {
	out, err := exec.Command("lsns", "-J", "-o", "NS,TYPE").Output()
	if err != nil {
		t.Logf("lsns: %v", err)
		return nil
	}
	var doc struct {
		Namespaces []struct {
			NS   json.Number `json:"ns"`
			Type string      `json:"type"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("lsns -J: %v\n%s", err, out)
	}
	set := make(map[string]bool)
	for _, n := range doc.Namespaces {
		set[n.Type+":"+n.NS.String()] = true
	}
	return set
}

func TestKernelLsAgreesWithLsns(t *testing.T) {
	requireRoot(t, "lsns")
	// Other processes come and go: compare only when lsns saw the same
	// namespaces before and after our scan.
	for range 20 {
		before := lsnsSet(t)
		inv, err := inventory.Scan(inventory.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		after := lsnsSet(t)
		if before == nil || after == nil || !sameSet(before, after) {
			continue
		}
		ours := make(map[string]inventory.Namespace)
		for _, n := range inv.Namespaces {
			ours[fmt.Sprintf("%s:%d", n.Type, n.Inode)] = n
		}
		for k := range before {
			if _, ok := ours[k]; !ok {
				t.Errorf("lsns lists %s, ls does not", k)
			}
		}
		for k, n := range ours {
			if before[k] || n.Processes == 0 {
				continue // also listed by lsns, or held by a mount, fd or child only
			}
			// lsns reads only thread group leaders: a namespace of threads
			// alone is ours to list. One whose leader is in it must be in lsns.
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", n.PID, n.Type))
			if err == nil && target == fmt.Sprintf("%s:[%d]", n.Type, n.Inode) {
				t.Errorf("ls lists %s (pid %d is in it), lsns does not", k, n.PID)
			}
		}
		t.Logf("lsns: %d namespaces; ls: %d", len(before), len(ours))
		return
	}
	t.Fatal("the host never held still between two lsns runs")
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestKernelHostNamespacesAreMarkedHost(t *testing.T) {
	requireRoot(t)
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	comm, _ := os.ReadFile("/proc/2/comm")
	if string(comm) != "kthreadd\n" {
		t.Fatal("/proc is not the host's (no kthreadd): cannot tell the host's namespaces")
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &major, &minor); err != nil {
		t.Fatalf("kernel release %q: %v", unix.ByteSliceToString(uts.Release[:]), err)
	}
	for _, typ := range inventory.Types {
		ino := testenv.NsInode(t, "/proc/2/ns/"+typ.String())
		n := mustFind(t, inv, typ, ino)
		if !n.Host || n.Container != nil {
			t.Errorf("kthreadd's %s %d: host %v container %+v", typ, ino, n.Host, n.Container)
		}
		if major > 6 || major == 6 && minor >= 18 {
			if !inventory.IsInitial(typ, ino) {
				t.Errorf("kthreadd's %s is %d, not the kernel's fixed initial inode", typ, ino)
			}
		}
		if want := kernelNsID(t, "/proc/2/ns/"+typ.String()); n.NsID != want {
			t.Errorf("%s: ns_id %d, want %d", typ, n.NsID, want)
		}
		if typ == event.User && (n.Owner != 0 || n.Parent != 0) {
			t.Errorf("the initial user namespace has owner %d parent %d", n.Owner, n.Parent)
		}
	}
	for _, n := range inv.Namespaces {
		if n.Host && n.Inode != testenv.NsInode(t, "/proc/2/ns/"+n.Type.String()) {
			t.Errorf("%s %d marked host but is not kthreadd's", n.Type, n.Inode)
		}
	}
}

// runcContainer starts a detached runc container running busybox sleep and
// returns its id, its pid and the namespace types it has of its own; it is
// killed and deleted when the test ends.
func runcContainer(t *testing.T) (id string, pid int, own map[event.NsType]bool) {
	bundle := testenv.Bundle(t, "/bin/busybox", "sleep", "600")
	own = bundleNamespaces(t, bundle)
	var raw [32]byte
	rand.Read(raw[:])
	id = hex.EncodeToString(raw[:])
	pidFile := filepath.Join(bundle, "pid")
	// The container keeps runc's stdio: give it a file, not a pipe we would wait on.
	logf, err := os.Create(filepath.Join(bundle, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("runc", "run", "--detach", "--bundle", bundle, "--pid-file", pidFile, id)
	cmd.Stdout, cmd.Stderr = logf, logf
	t.Cleanup(func() {
		// Cleanup: kill fails once the container is gone, and delete
		// fails if it was never created; neither says anything about the test.
		_ = exec.Command("runc", "kill", id, "KILL").Run()
		_ = exec.Command("runc", "delete", "--force", id).Run()
	})
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logf.Name())
		t.Fatalf("runc run: %v\n%s", err, out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
		t.Fatal(err)
	}
	return id, pid, own
}

// bundleNamespaces reads the namespace types a bundle's container gets of
// its own. runc spec gives a cgroup namespace on a cgroup v2 only host (as
// make vmtest's guest is), none on a hybrid one.
func bundleNamespaces(t *testing.T, bundle string) map[event.NsType]bool {
	t.Helper()
	types := map[string]event.NsType{"pid": event.Pid, "network": event.Net, "ipc": event.IPC,
		"uts": event.UTS, "mount": event.Mnt, "cgroup": event.Cgroup, "user": event.User, "time": event.Time}
	var cfg struct {
		Linux struct {
			Namespaces []struct{ Type string }
		}
	}
	raw, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	own := map[event.NsType]bool{}
	for _, ns := range cfg.Linux.Namespaces {
		typ, ok := types[ns.Type]
		if !ok {
			t.Fatalf("bundle namespace type %q", ns.Type)
		}
		own[typ] = true
	}
	return own
}

func TestKernelARuncContainersNamespacesCarryItsID(t *testing.T) {
	requireRoot(t, "runc", "busybox")
	id, pid, own := runcContainer(t)
	want := &event.Container{ID: id, Runtime: container.RuntimeRunc}
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range inventory.Types {
		link := fmt.Sprintf("/proc/%d/ns/%s", pid, typ)
		n := mustFind(t, inv, typ, testenv.NsInode(t, link))
		switch {
		case !own[typ]:
			if !n.Host || n.Container != nil {
				t.Errorf("shared %s: host %v container %+v, want the host's", typ, n.Host, n.Container)
			}
		case n.Host || n.Processes != 1 || n.PID != uint32(pid) || *n.Container != *want:
			t.Errorf("%s: %+v (container %+v), want pid %d alone in container %+v", typ, n, n.Container, pid, want)
		case n.NsID != kernelNsID(t, link):
			t.Errorf("%s: ns_id %d, want %d", typ, n.NsID, kernelNsID(t, link))
		}
	}

	// The live resolver: the process's container from the kernel's cgroup
	// id, and a namespace it never saw looked up through /proc.
	cgroupID := containerCgroupID(t, pid)
	netLink := fmt.Sprintf("/proc/%d/ns/net", pid)
	for _, r := range []*Resolver{New(inv), New(nil)} {
		ev := &event.Event{Kind: event.Setns, Pid: uint32(pid), Tid: uint32(pid), CgroupID: cgroupID,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: testenv.NsInode(t, "/proc/self/ns/net"),
				To: testenv.NsInode(t, netLink)}}}
		r.Resolve(ev)
		if ev.Container == nil || *ev.Container != *want {
			t.Errorf("process container %+v, want %+v", ev.Container, want)
		}
		if c := ev.Changes[0]; c.NsID != kernelNsID(t, netLink) || c.Owner != testenv.NsInode(t, "/proc/self/ns/user") {
			t.Errorf("net change %+v, want ns_id %d and the host's user namespace as owner", c, kernelNsID(t, netLink))
		}
	}
}

// containerCgroupID is the cgroup v2 id of a process: the inode of its
// directory in the v2 hierarchy, as bpf_get_current_cgroup_id gives it.
func containerCgroupID(t *testing.T, pid int) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, v2 := container.Paths(string(data))
	tree := container.OwnTree("/")
	id, ok := tree.IDOf(v2)
	if !ok || v2 == "/" {
		t.Fatalf("no cgroup v2 directory of its own for pid %d (%q)", pid, v2)
	}
	return id
}
