package runtime_test

import (
	"context"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/nstrace/nstrace/tracer/internal/container"
	"github.com/nstrace/nstrace/tracer/internal/runtime"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

const criImage = "docker.io/nstrace/busybox:test"

// startContainer creates and starts a container in a pod through the CRI,
// as kubelet does, and returns its id.
func startContainer(t *testing.T, c *testenv.Containerd, podID string, pod *cri.PodSandboxConfig, name string, cmd ...string) string {
	t.Helper()
	ctx := context.Background()
	ctr, err := c.CRI.CreateContainer(ctx, &cri.CreateContainerRequest{
		PodSandboxId:  podID,
		SandboxConfig: pod,
		Config: &cri.ContainerConfig{
			Metadata: &cri.ContainerMetadata{Name: name},
			Image:    &cri.ImageSpec{Image: criImage},
			Command:  cmd,
		},
	})
	if err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	if _, err := c.CRI.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: ctr.ContainerId}); err != nil {
		t.Fatalf("start container %s: %v", name, err)
	}
	return ctr.ContainerId
}

// containerIDOfCgroup is the container tracer/internal/resolve finds in the text
// of a /proc/PID/cgroup.
func containerIDOfCgroup(t *testing.T, data string) string {
	t.Helper()
	for _, line := range strings.Split(data, "\n") {
		if _, p, ok := strings.Cut(line, ":name=systemd:"); ok {
			if ctr := container.Classify(p); ctr != nil {
				return ctr.ID
			}
		}
	}
	t.Fatalf("no container in the name=systemd cgroup:\n%s", data)
	return ""
}

// containerPid is a running container's init process, from the CRI.
func containerPid(t *testing.T, c *testenv.Containerd, id string) string {
	t.Helper()
	st, err := c.CRI.ContainerStatus(context.Background(), &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Pid int }
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.Pid == 0 {
		t.Fatalf("container %s: no pid in %q: %v", id, st.Info["info"], err)
	}
	return strconv.Itoa(info.Pid)
}

func TestCRIPod(t *testing.T) {
	testenv.RequireKernel(t)
	c := testenv.StartContainerd(t)
	c.ImportBusybox(t, criImage, "/bin/sleep", "100000")
	w := runtime.Start(runtime.Options{
		Endpoints: []runtime.Endpoint{{API: runtime.APIAuto, Path: c.Socket}},
		Timeout:   300 * time.Millisecond,
	})
	defer w.Close()

	const uid = "5b1e8a2c-0d4f-4c7e-9a61-3f2b7c9d8e10"
	labels := map[string]string{"app": "web", "pod-template-hash": "7d9f"}
	podCfg := &cri.PodSandboxConfig{
		Metadata: &cri.PodSandboxMetadata{Name: "web-7d9f", Namespace: "shop", Uid: uid},
		Labels:   labels,
		// As kubelet with the cgroupfs driver places a BestEffort pod.
		Linux: &cri.LinuxPodSandboxConfig{CgroupParent: "/kubepods/besteffort/pod" + uid},
	}
	run, err := c.CRI.RunPodSandbox(context.Background(), &cri.RunPodSandboxRequest{Config: podCfg})
	if err != nil {
		t.Fatalf("run pod sandbox: %v", err)
	}
	podID := run.PodSandboxId
	nginx := startContainer(t, c, podID, podCfg, "nginx", "/bin/sleep", "100000")

	// The key a kernel event is joined by: the id in the process's cgroup.
	pid := containerPid(t, c, nginx)
	if key := cgroupContainerID(t, pid); key != nginx {
		t.Fatalf("cgroup of pid %s names container %s, the CRI says %s", pid, key, nginx)
	}
	got := waitLookup(t, w, nginx)
	if got.Pod == nil {
		t.Fatalf("nginx: %+v: no pod", got)
	}
	pod := *got.Pod
	got.Pod = nil
	if want := (runtime.Identity{ID: nginx, Name: "nginx", Image: criImage, Runtime: "containerd"}); got != want {
		t.Errorf("nginx: %+v, want %+v", got, want)
	}
	if pod.Name != "web-7d9f" || pod.Namespace != "shop" || pod.UID != uid || pod.SandboxID != podID || !maps.Equal(pod.Labels, labels) {
		t.Errorf("nginx's pod: %+v, want shop/web-7d9f uid %s sandbox %s labels %v", pod, uid, podID, labels)
	}

	// A process exec'd into the container (crictl exec) is in its cgroup:
	// the same key names it.
	exec, err := c.CRI.ExecSync(context.Background(), &cri.ExecSyncRequest{ContainerId: nginx, Cmd: []string{"cat", "/proc/self/cgroup"}, Timeout: 10})
	if err != nil || exec.ExitCode != 0 {
		t.Fatalf("exec in nginx: %v, %+v", err, exec)
	}
	if key := containerIDOfCgroup(t, string(exec.Stdout)); key != nginx {
		t.Errorf("an exec'd process is in container %s's cgroup, want nginx %s", key, nginx)
	}

	// The sandbox: its pause process is in the sandbox's cgroup, and the
	// cni-… mount is that process's network namespace.
	if !strings.HasPrefix(pod.NetNS, "/var/run/netns/cni-") {
		t.Errorf("pod netns %q, want a /var/run/netns/cni-… mount", pod.NetNS)
	}
	pause := strconv.Itoa(int(pod.PausePID))
	if key := cgroupContainerID(t, pause); key != podID {
		t.Errorf("pause pid %s is in container %s's cgroup, want the sandbox %s", pause, key, podID)
	}
	if mnt, proc := testenv.NsInode(t, pod.NetNS), testenv.NsInode(t, "/proc/"+pause+"/ns/net"); mnt != proc {
		t.Errorf("netns mount %s is inode %d, pause pid %s's net ns %d", pod.NetNS, mnt, pause, proc)
	}
	if ctrNet := testenv.NsInode(t, "/proc/"+pid+"/ns/net"); ctrNet != testenv.NsInode(t, pod.NetNS) {
		t.Errorf("nginx's net ns %d is not the pod's %d", ctrNet, testenv.NsInode(t, pod.NetNS))
	}
	sandbox := waitLookup(t, w, podID)
	if !sandbox.Sandbox || sandbox.Name != "" || sandbox.Runtime != "containerd" || sandbox.Pod == nil || sandbox.Pod.SandboxID != podID || sandbox.Pod.Name != "web-7d9f" {
		t.Errorf("sandbox: %+v (pod %+v)", sandbox, sandbox.Pod)
	}
	if byUID, ok := w.PodByUID(uid); !ok || byUID.ID != podID || byUID.Pod.Name != "web-7d9f" {
		t.Errorf("PodByUID(%s) = %+v, %v", uid, byUID, ok)
	}
	for _, path := range []string{pod.NetNS, strings.Replace(pod.NetNS, "/var/run/", "/run/", 1)} {
		byNet, ok := w.PodByNetNS(path)
		if !ok || byNet.ID != podID || byNet.Pod.Namespace != "shop" || byNet.Pod.Name != "web-7d9f" {
			t.Errorf("PodByNetNS(%s) = %+v, %v", path, byNet, ok)
		}
	}

	// A container that exits at once is named all the same.
	once := startContainer(t, c, podID, podCfg, "migrate", "/bin/true")
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.CRI.ContainerStatus(context.Background(), &cri.ContainerStatusRequest{ContainerId: once})
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.State == cri.ContainerState_CONTAINER_EXITED {
			if st.Status.ExitCode != 0 {
				t.Fatalf("migrate exited with %d", st.Status.ExitCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("migrate did not exit: %v", st.Status.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got = waitLookup(t, w, once)
	if got.Name != "migrate" || got.Image != criImage || got.Pod == nil || got.Pod.SandboxID != podID || got.Pod.Name != "web-7d9f" {
		t.Errorf("migrate: %+v (pod %+v)", got, got.Pod)
	}

	// containerd hung: its next list times out and it counts as lost; the
	// cache still answers, misses return at once; resumed, it is connected
	// again and a new container is named.
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for w.Stats().Connected != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a hung containerd still counts as connected: %+v", w.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var worst time.Duration
	for i := 0; i < 1000; i++ {
		miss := strings.Repeat("e", 60) + strconv.FormatInt(int64(0x1000+i), 16)
		start := time.Now()
		got, ok := w.Lookup(nginx)
		_, missOK := w.Lookup(miss)
		worst = max(worst, time.Since(start))
		if !ok || got.Name != "nginx" || got.Pod.Name != "web-7d9f" || missOK {
			t.Fatalf("containerd hung: Lookup = %+v, %v; miss found: %v", got, ok, missOK)
		}
	}
	if worst > 50*time.Millisecond {
		t.Errorf("containerd hung: a hit and a miss took up to %v", worst)
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	sidecar := startContainer(t, c, podID, podCfg, "sidecar", "/bin/sleep", "100000")
	if got := waitLookup(t, w, sidecar); got.Name != "sidecar" || got.Pod == nil || got.Pod.Name != "web-7d9f" {
		t.Errorf("sidecar after containerd resumed: %+v", got)
	}

	// A hostNetwork pod: no netns mount, its containers in the host's
	// network namespace, named all the same.
	hostCfg := &cri.PodSandboxConfig{
		Metadata: &cri.PodSandboxMetadata{Name: "node-exporter-x2x4q", Namespace: "monitoring", Uid: "0f4c2a9e-7b1d-4e8a-b3c6-5d9e8f7a6b21"},
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent:    "/kubepods/besteffort/pod0f4c2a9e-7b1d-4e8a-b3c6-5d9e8f7a6b21",
			SecurityContext: &cri.LinuxSandboxSecurityContext{NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE}},
		},
	}
	hostRun, err := c.CRI.RunPodSandbox(context.Background(), &cri.RunPodSandboxRequest{Config: hostCfg})
	if err != nil {
		t.Fatalf("run hostNetwork pod sandbox: %v", err)
	}
	exporter := startContainer(t, c, hostRun.PodSandboxId, hostCfg, "node-exporter", "/bin/sleep", "100000")
	exporterPid := containerPid(t, c, exporter)
	if ns, host := testenv.NsInode(t, "/proc/"+exporterPid+"/ns/net"), testenv.NsInode(t, "/proc/self/ns/net"); ns != host {
		t.Fatalf("hostNetwork container's net ns %d is not containerd's (the host's) %d", ns, host)
	}
	got = waitLookup(t, w, cgroupContainerID(t, exporterPid))
	if got.ID != exporter || got.Name != "node-exporter" || got.Image != criImage || got.Pod == nil ||
		got.Pod.Name != "node-exporter-x2x4q" || got.Pod.Namespace != "monitoring" || got.Pod.NetNS != "" || got.Pod.PausePID == 0 {
		t.Errorf("node-exporter: %+v (pod %+v)", got, got.Pod)
	}
}

// containerd's own event stream kicks a CRI list: a container created and
// not yet started is known without a timed list or a query.
func TestContainerdEventsKickACRIList(t *testing.T) {
	testenv.RequireKernel(t)
	c := testenv.StartContainerd(t)
	c.ImportBusybox(t, criImage, "/bin/sleep", "100000")
	w := runtime.Start(runtime.Options{
		Endpoints: []runtime.Endpoint{{API: runtime.APICRI, Path: c.Socket}},
		Refresh:   time.Hour, // never, within the test
	})
	defer w.Close()
	deadline := time.Now().Add(10 * time.Second)
	for w.Stats().Connected == 0 {
		if time.Now().After(deadline) {
			t.Fatal("containerd not connected in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cfg := &cri.PodSandboxConfig{Metadata: &cri.PodSandboxMetadata{Name: "kick", Namespace: "shop", Uid: "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"},
		Linux: &cri.LinuxPodSandboxConfig{CgroupParent: "/kubepods/besteffort/pod9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"}}
	run, err := c.CRI.RunPodSandbox(context.Background(), &cri.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := c.CRI.CreateContainer(context.Background(), &cri.CreateContainerRequest{PodSandboxId: run.PodSandboxId, SandboxConfig: cfg,
		Config: &cri.ContainerConfig{Metadata: &cri.ContainerMetadata{Name: "created"}, Image: &cri.ImageSpec{Image: criImage}}})
	if err != nil {
		t.Fatal(err)
	}
	// Known: the sandbox and the container, without asking (a Lookup
	// would query).
	for w.Stats().Known < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the created container is not known in 10 s: %+v", w.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, ok := w.Lookup(ctr.ContainerId); !ok || got.Name != "created" || got.Pod == nil || got.Pod.Name != "kick" {
		t.Errorf("created: %+v, %v", got, ok)
	}
	if s := w.Stats(); s.Queried != 0 {
		t.Errorf("%d queries: the list was not kicked by an event", s.Queried)
	}
}
