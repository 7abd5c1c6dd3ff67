package cli

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

const criImage = "docker.io/nstrace/busybox:test"

// runPod starts a pod sandbox through the CRI, as kubelet does with the
// cgroupfs driver for a BestEffort pod, and returns its id.
func runPod(t *testing.T, c *testenv.Containerd, cfg *cri.PodSandboxConfig) string {
	t.Helper()
	cfg.Linux.CgroupParent = "/kubepods/besteffort/pod" + cfg.Metadata.Uid
	run, err := c.CRI.RunPodSandbox(context.Background(), &cri.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("run pod %s/%s: %v", cfg.Metadata.Namespace, cfg.Metadata.Name, err)
	}
	return run.PodSandboxId
}

// runContainer creates and starts a container in a pod, running the
// image's sleep.
func runContainer(t *testing.T, c *testenv.Containerd, podID string, pod *cri.PodSandboxConfig, name string) string {
	t.Helper()
	ctx := context.Background()
	ctr, err := c.CRI.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: pod,
		Config: &cri.ContainerConfig{Metadata: &cri.ContainerMetadata{Name: name}, Image: &cri.ImageSpec{Image: criImage}}})
	if err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	if _, err := c.CRI.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: ctr.ContainerId}); err != nil {
		t.Fatalf("start container %s: %v", name, err)
	}
	return ctr.ContainerId
}

// execDenied runs nsenter in a container through the CRI's ExecSync, as
// `crictl exec` does: without CAP_SYS_ADMIN its setns is denied.
func execDenied(t *testing.T, c *testenv.Containerd, id, nsArg string) {
	t.Helper()
	res, err := c.CRI.ExecSync(context.Background(), &cri.ExecSyncRequest{ContainerId: id,
		Cmd: []string{"nsenter", nsArg, "true"}, Timeout: 10})
	if err != nil || res.ExitCode == 0 {
		t.Fatalf("exec nsenter %s: %v, exit %d: %s", nsArg, err, res.GetExitCode(), res.GetStderr())
	}
}

func TestKernelCRIPodsAreNamedLiveAndInReplay(t *testing.T) {
	testenv.RequireKernel(t)
	c := testenv.StartContainerd(t)
	c.ImportBusybox(t, criImage, "/bin/sleep", "100000")
	session := filepath.Join(t.TempDir(), "pods.jsonl")
	tr := startTracing(t, "-o", "json", "-w", session, "--runtime-endpoint", "cri:unix://"+c.Socket)
	bounded(t, tr)
	log := collect(t, tr.stdout)

	const uid = "5b1e8a2c-0d4f-4c7e-9a61-3f2b7c9d8e10"
	labels := map[string]string{"app": "web", "pod-template-hash": "7d9f"}
	web := &cri.PodSandboxConfig{Metadata: &cri.PodSandboxMetadata{Name: "web-7d9f", Namespace: "shop", Uid: uid},
		Labels: labels, Linux: &cri.LinuxPodSandboxConfig{}}
	podID := runPod(t, c, web)
	nginx := runContainer(t, c, podID, web, "nginx")
	execDenied(t, c, nginx, "--uts=/proc/1/ns/uts")

	wantNginx := podWant{runtime: "containerd", name: "nginx", image: criImage, pod: "web-7d9f", namespace: "shop", uid: uid, labels: labels}
	wantSandbox := podWant{runtime: "containerd", pod: "web-7d9f", namespace: "shop", uid: uid, labels: labels}
	denied := log.await(t, "of crictl exec's nsenter in nginx", func(ev *rtEvent) bool {
		return ev.Comm == "nsenter" && ev.Container != nil && ev.Container.ID == nginx
	})
	for _, ev := range denied {
		if ev.Event != "setns" || ev.Error != "EPERM" {
			t.Errorf("nsenter in nginx: %s", ev.line)
		}
	}
	// nginx's start and the exec name it: all of them, unless a loaded
	// machine delayed containerd's answer past the hold-back, when only
	// the first few keep the id (startNamed).
	startNamed(t, log.matching(inContainer(nginx)), denied, wantNginx)
	// The sandbox's own start (its pause process creating the pod's
	// namespaces) happens inside RunPodSandbox, before containerd 1.6's CRI
	// answers for the sandbox: those events keep the id, and every later
	// one names the pod.
	pause := log.matching(inContainer(podID))
	if len(pause) == 0 {
		t.Error("no event of the pod's sandbox")
	}
	for _, ev := range pause {
		if c := ev.Container; c.Pod != nil || c.Name != "" || c.Image != "" {
			wantSandbox.check(t, ev.line, ev.Container)
		}
	}
	// The pod's network namespace, mounted as cni-…, is the pod's where
	// nginx joins it.
	netns := log.await(t, "of nginx joining the pod's network namespace", func(ev *rtEvent) bool {
		if ev.Container == nil || ev.Container.ID != nginx {
			return false
		}
		for _, c := range ev.Changes {
			if c.Type == "net" && strings.HasPrefix(c.Name, "cni-") {
				return true
			}
		}
		return false
	})
	for _, ev := range netns {
		for _, ch := range ev.Changes {
			if ch.Type == "net" && (ch.Container == nil || ch.Container.Pod == nil || ch.Container.Pod.Name != "web-7d9f" ||
				ch.Container.Pod.Namespace != "shop") {
				t.Errorf("the pod's netns is not the pod's: %s", ev.line)
			}
		}
	}
	// ls names the pod's network namespace, and nginx's own mount
	// namespace, by the pod.
	lsRows(t, []string{" net ", `"cni-`, " pod shop/web-7d9f "}, "--runtime-endpoint", "cri:unix://"+c.Socket)
	lsRows(t, []string{" mnt ", " pod shop/web-7d9f/nginx "}, "--runtime-endpoint", "cri:unix://"+c.Socket)

	// A hostNetwork pod's container tries to enter the host's network
	// namespace (its pid 1's, which is the host's).
	const exporterUID = "0f4c2a9e-7b1d-4e8a-b3c6-5d9e8f7a6b21"
	hostPod := &cri.PodSandboxConfig{Metadata: &cri.PodSandboxMetadata{Name: "node-exporter-x2x4q", Namespace: "monitoring", Uid: exporterUID},
		Linux: &cri.LinuxPodSandboxConfig{SecurityContext: &cri.LinuxSandboxSecurityContext{
			NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_NODE}}}}
	hostID := runPod(t, c, hostPod)
	exporter := runContainer(t, c, hostID, hostPod, "node-exporter")
	execDenied(t, c, exporter, "--net=/proc/1/ns/net")
	hostNet := inodeOfLink(t, "/proc/self/ns/net") // containerd's, which node-exporter shares
	entered := log.await(t, "of node-exporter's nsenter", func(ev *rtEvent) bool {
		return ev.Comm == "nsenter" && ev.Container != nil && ev.Container.ID == exporter
	})
	wantExporter := podWant{runtime: "containerd", name: "node-exporter", image: criImage, pod: "node-exporter-x2x4q", namespace: "monitoring", uid: exporterUID}
	for _, ev := range entered {
		wantExporter.check(t, ev.line, ev.Container)
		if !strings.Contains(ev.line, `"error":"EPERM","target":{"type":"net","inode":`+strconv.FormatUint(hostNet, 10)+`}`) {
			t.Errorf("node-exporter's nsenter: %s, want a denied setns into the host's net %d", ev.line, hostNet)
		}
	}

	// containerd hung: tracing goes on, a container it cannot name keeps
	// its id, and nothing waits for containerd's timeout.
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	orphan := unknownContainer(t, log, "nstrace-rt-e2e-hung", "while containerd hangs")
	// Asked of the hung containerd, it is held no longer than the
	// hold-back's 100 ms, never for the request's 2 s timeout (which a
	// loaded machine's lag must not be mistaken for: the bound is that
	// timeout, not the hold).
	late := orphan.got.Sub(orphan.Time)
	if late >= 2*time.Second {
		t.Errorf("an event came %v after it happened while containerd hung: held for its timeout", late)
	}
	t.Logf("while containerd hung, an event came %v after it happened", late)
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if code, stderr := stopCollected(t, tr, log); code != 0 {
		t.Fatalf("trace exited %d: %s", code, stderr)
	}

	// The replay names them as the live run did, line for line.
	for _, id := range []string{podID, nginx, exporter} {
		live := log.matching(inContainer(id))
		var back []rtEvent
		for _, ev := range replayed(t, session, "--container", id) {
			if inContainer(id)(&ev) {
				back = append(back, ev)
			}
		}
		if len(back) != len(live) {
			t.Fatalf("replay has %d events of %s, live had %d", len(back), id, len(live))
		}
		for i := range back {
			if back[i].line != live[i].line {
				t.Errorf("replay differs:\n live %s\n back %s", live[i].line, back[i].line)
			}
		}
	}
	text := replayText(t, session, "--pod", "shop/web-*", "--comm", "nsenter")
	if !strings.Contains(text, " in pod shop/web-7d9f/nginx") || strings.Contains(text, "node-exporter") {
		t.Errorf("text replay of --pod shop/web-* --comm nsenter:\n%s", text)
	}
	text = replayText(t, session, "--k8s-namespace", "monitoring", "--comm", "nsenter")
	if !strings.Contains(text, " in pod monitoring/node-exporter-x2x4q/node-exporter") || strings.Contains(text, "web-7d9f") {
		t.Errorf("text replay of --k8s-namespace monitoring --comm nsenter:\n%s", text)
	}
}
