package resolve

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory/inventorytest"
)

// v1Root is a host with cgroup v1 hierarchies mounted and no cgroup2, and
// these processes' /proc/PID/cgroup.
func v1Root(t testing.TB, cgroups map[uint32]string) string {
	root := inventorytest.MountRoot(t)
	inventorytest.WriteMountinfo(t, root, "30 22 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
	for pid, data := range cgroups {
		dir := filepath.Join(root, "proc", strconv.Itoa(int(pid)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// On a cgroup v1 host the kernel's cgroup id says nothing: the process's
// container comes from /proc/PID/cgroup, the same for every process of a
// cgroup, none for a process outside containers or gone.
func TestResolveReadsV1CgroupsFromProc(t *testing.T) {
	id := inventorytest.ID("v1")
	inDocker := "4:memory:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n0::/\n"
	root := v1Root(t, map[uint32]string{500: inDocker, 501: inDocker, 502: "4:memory:/user.slice\n1:name=systemd:/user.slice\n0::/\n"})
	r := New(nil, WithRoot(root))
	docker := &event.Container{ID: id, Runtime: "docker"}
	for _, c := range []struct {
		pid  uint32
		want *event.Container
	}{{500, docker}, {501, docker}, {502, nil}, {503, nil}} {
		ev := &event.Event{Time: t0, Kind: event.Unshare, Pid: c.pid, Tid: c.pid, CgroupID: 1}
		r.Resolve(ev)
		if !reflect.DeepEqual(ev.Container, c.want) {
			t.Errorf("pid %d: container %+v, want %+v", c.pid, ev.Container, c.want)
		}
	}
}

// Reading again a process whose cgroup file is known allocates nothing.
func TestResolveV1CgroupReadAllocatesNothing(t *testing.T) {
	id := inventorytest.ID("v1")
	root := v1Root(t, map[uint32]string{600: "4:memory:/docker/" + id + "\n0::/\n"})
	r := New(nil, WithRoot(root))
	ev := &event.Event{Time: t0, Kind: event.Unshare, Pid: 600, Tid: 600, CgroupID: 1}
	r.Resolve(ev)
	allocs := testing.AllocsPerRun(100, func() {
		ev.Time, ev.Container = ev.Time.Add(2*procTTL), nil
		r.Resolve(ev)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per read", allocs)
	}
	if ev.Container == nil || ev.Container.ID != id {
		t.Errorf("container %+v, want %s", ev.Container, id)
	}
}

// The kernel's memory cgroup id names the container without /proc, even
// for a process already gone; a host process's (user.slice) reads nothing
// either. An id whose cgroup is no longer there (removed before it was
// looked up) falls back to /proc. The memory hierarchy here is plain
// directories, found by walking (no kernfs handles).
func TestResolveFindsV1ContainersByMemoryCgroup(t *testing.T) {
	id := inventorytest.ID("mem")
	root := v1Root(t, map[uint32]string{800: "4:memory:/docker/" + id + "\n0::/\n"})
	memory := filepath.Join(root, "sys/fs/cgroup/memory")
	ino := func(p string) uint64 {
		if err := os.MkdirAll(filepath.Join(memory, p), 0o755); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(memory, p), &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	inDocker, inUser := ino("docker/"+id), ino("user.slice")
	reads := 0
	defer func(f func([]byte, string, uint32, string) ([]byte, bool)) { appendTaskFile = f }(appendTaskFile)
	read := appendTaskFile
	appendTaskFile = func(b []byte, root string, tid uint32, name string) ([]byte, bool) {
		reads++
		return read(b, root, tid, name)
	}
	r := New(nil, WithRoot(root))
	docker := &event.Container{ID: id, Runtime: "docker"}
	for _, c := range []struct {
		pid       uint32
		memory    uint64
		want      *event.Container
		wantReads int
	}{{801, inDocker, docker, 0}, {802, inUser, nil, 0}, {800, 1 << 40, docker, 1}} {
		reads = 0
		ev := &event.Event{Time: t0, Kind: event.Unshare, Pid: c.pid, Tid: c.pid, CgroupID: 1, MemCgroupID: c.memory}
		r.Resolve(ev)
		if !reflect.DeepEqual(ev.Container, c.want) || reads != c.wantReads {
			t.Errorf("pid %d, memory cgroup %d: container %+v and %d reads of /proc, want %+v and %d",
				c.pid, c.memory, ev.Container, reads, c.want, c.wantReads)
		}
	}
}
