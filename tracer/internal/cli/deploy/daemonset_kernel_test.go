package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/nstrace/nstrace/tracer/internal/procfs"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// spoolPath is where the DaemonSet mounts the spool, and where the test
// puts the ready file: it appears in the host directory given for it.
const spoolPath = "/var/lib/nstrace/spool"

// podmanRunArgs turns the DaemonSet's pod into `podman run` flags: its
// capabilities, host namespaces, user, security options and mounts. Docker
// would do as well but for one thing: docker 20.10 (Debian 12's) refuses
// CAP_BPF and CAP_PERFMON as unknown capabilities. The spool's host path
// is replaced by spool; the runtime socket, absent on this host, is left out.
func podmanRunArgs(t *testing.T, ds *appsv1.DaemonSet, spool string) []string {
	t.Helper()
	pod := ds.Spec.Template.Spec
	c := pod.Containers[0]
	sc := c.SecurityContext
	args := []string{"--cap-drop", "ALL"}
	for _, a := range sc.Capabilities.Add {
		args = append(args, "--cap-add", string(a))
	}
	if pod.HostPID {
		args = append(args, "--pid", "host")
	}
	if pod.HostNetwork {
		args = append(args, "--network", "host")
	}
	args = append(args, "--user", fmt.Sprintf("%d:%d", *sc.RunAsUser, *sc.RunAsGroup))
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		args = append(args, "--read-only")
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		args = append(args, "--security-opt", "no-new-privileges")
	}
	if sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
		args = append(args, "--security-opt", "seccomp=unconfined")
	}
	host := map[string]string{}
	for _, v := range pod.Volumes {
		host[v.Name] = v.HostPath.Path
	}
	for _, m := range c.VolumeMounts {
		src := host[m.Name]
		switch {
		case m.MountPath == spoolPath:
			src = spool
		case strings.HasSuffix(m.MountPath, ".sock"):
			continue
		}
		opts := "rw"
		if m.ReadOnly {
			opts = "ro"
		}
		if m.MountPropagation != nil && *m.MountPropagation == corev1.MountPropagationHostToContainer {
			opts += ",rslave"
		}
		args = append(args, "-v", src+":"+m.MountPath+":"+opts)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
			args = append(args, "-e", e.Name+"=test-node")
		}
	}
	return args
}

// dsChange is what these tests read of a change.
type dsChange struct {
	Type, Action string
	From, To     uint32
	Name         string
	Host         bool
	Owner        uint32
	Container    *struct{ ID, Runtime string }
}

// dsEvent is one event line, kept whole for the comparison.
type dsEvent struct {
	Event   string
	Pid     uint32
	Changes []dsChange
	raw     map[string]any
}

// readEvents parses JSON Lines, keeping the events of the processes pids.
func readEvents(t *testing.T, text string, pids map[uint32]bool) map[string]dsEvent {
	t.Helper()
	out := map[string]dsEvent{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev dsEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		if !pids[ev.Pid] || ev.Event == "alert" { // alerts are the rules' business, not this scenario's
			continue
		}
		_ = json.Unmarshal(sc.Bytes(), &ev.raw)
		delete(ev.raw, "time") // each tracer reads its own clock
		key := fmt.Sprintf("%s %d", ev.Event, ev.Pid)
		if len(ev.Changes) > 0 { // a failed call has none
			key += fmt.Sprintf(" %s %d", ev.Changes[0].Type, ev.Changes[0].To)
		}
		out[key] = ev
	}
	return out
}

// find returns the change of kind into ino of type typ.
func find(t *testing.T, evs map[string]dsEvent, kind, typ string, ino uint32) dsChange {
	t.Helper()
	for _, ev := range evs {
		for _, c := range ev.Changes {
			if ev.Event == kind && c.Type == typ && c.To == ino {
				return c
			}
		}
	}
	t.Fatalf("no %s into %s %d", kind, typ, ino)
	return dsChange{}
}

// hostTrace is nstrace run on the host as root, for comparison.
func hostTrace(t *testing.T, args ...string) (stop func() string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nstrace")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nstrace/nstrace/cmd/nstrace").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"trace", "--ready-file", filepath.Join(t.TempDir(), "ready")}, args...)...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	stderr := bufio.NewReader(errp)
	line, err := stderr.ReadString('\n')
	if strings.HasPrefix(line, "nstrace: mounted tracefs ") { // on a host without tracefs
		line, err = stderr.ReadString('\n')
	}
	if !strings.HasPrefix(line, "nstrace: tracing started; ") {
		t.Fatalf("host nstrace: %q (%v)", line, err)
	}
	return func() string {
		_ = cmd.Process.Signal(syscall.SIGINT)
		rest, _ := io.ReadAll(stderr)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("host nstrace: %v: %s", err, rest)
		}
		return stdout.String()
	}
}

// waitFile polls for path, for at most 60 s: the container's stderr is not
// ours to read, so its ready file is the signal.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear in 60 s", path)
		}
	}
}

// The image, run as the DaemonSet runs it (its capabilities and nothing
// more, the node's pid and network namespaces, its mounts), traces what
// happens on the host and names it as nstrace on the host does: a UTS
// namespace made by `unshare -u`, one made before the start (named by
// /proc/PID/ns: CAP_SYS_PTRACE), a container's, and an `ip netns` added
// after the start (seen through /run/netns's propagation). Its liveness
// probe's URL answers on the node's loopback.
func TestImageRunsAsTheDaemonSetAndNamesAsTheHost(t *testing.T) {
	unshare := testenv.RequireTool(t, "unshare")
	nsenter := testenv.RequireTool(t, "nsenter")
	ip := testenv.RequireTool(t, "ip")
	const image = "localhost/nstrace:ds-test"
	archive := buildArchive(t, image)
	p := testenv.StartPodman(t)
	p.CLI(t, "load", "-q", "-i", archive)
	const busybox = "localhost/nstrace/busybox:test"
	p.LoadBusybox(t, busybox, "/bin/sleep", "100000")
	ctr := p.CLI(t, "run", "-d", "--network", "none", busybox)
	ctrPid := p.CLI(t, "inspect", "-f", "{{.State.Pid}}", ctr)

	held := exec.Command(unshare, "-u", "sh", "-c", "readlink /proc/self/ns/uts; read done")
	heldOut, _ := held.StdoutPipe()
	heldIn, _ := held.StdinPipe()
	if err := held.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { heldIn.Close(); _ = held.Wait() })
	if _, err := bufio.NewReader(heldOut).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	// /run/netns exists and is shared before the container mounts it.
	pre, post := fmt.Sprintf("nstrace-ds-pre-%d", os.Getpid()), fmt.Sprintf("nstrace-ds-%d", os.Getpid())
	for _, name := range []string{pre, post} {
		t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", name).Run() })
	}
	if out, err := exec.Command(ip, "netns", "add", pre).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}

	ds := readDaemonSet(t)
	filter := []string{"--comm", "unshare,nsenter,ip"}
	stopHost := hostTrace(t, append([]string{"-o", "json"}, filter...)...)
	spool := t.TempDir()
	run := append([]string{"run", "-d"}, podmanRunArgs(t, ds, spool)...)
	run = append(append(run, image), ds.Spec.Template.Spec.Containers[0].Args...)
	cid := p.CLI(t, append(run, append(filter, "--ready-file", spoolPath+"/ready")...)...)
	waitFile(t, filepath.Join(spool, "ready"))

	probe := ds.Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet
	resp, err := http.Get(fmt.Sprintf("http://%s:%s%s", probe.Host, probe.Port.String(), probe.Path))
	if err != nil {
		t.Fatalf("liveness probe: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("liveness probe: %s", resp.Status)
	}

	// The scenario's processes: only their events are compared, as other
	// tests may make namespaces meanwhile, even with the inodes of ours
	// that died.
	pids := map[uint32]bool{}
	runScenario := func(argv ...string) string {
		cmd := exec.Command(argv[0], argv[1:]...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v: %s", argv, err, out)
		}
		pids[uint32(cmd.Process.Pid)] = true
		return string(out)
	}
	_, created, _ := procfs.ParseNsLink(strings.TrimSpace(runScenario(unshare, "-u", "readlink", "/proc/self/ns/uts")))
	heldUts := testenv.NsInode(t, fmt.Sprintf("/proc/%d/ns/uts", held.Process.Pid))
	ctrUts := testenv.NsInode(t, "/proc/"+ctrPid+"/ns/uts")
	runScenario(nsenter, "-t", strconv.Itoa(held.Process.Pid), "-u", "true")
	runScenario(nsenter, "-t", ctrPid, "-u", "true")
	runScenario(ip, "netns", "add", post)
	runScenario(ip, "netns", "exec", post, "true")
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+post, &st); err != nil {
		t.Fatal(err)
	}
	postNet := uint32(st.Ino)

	// A stop drains the ring: every event of the scenario is written.
	p.CLI(t, "stop", "-t", "20", cid)
	inPod := readEvents(t, p.CLI(t, "logs", cid), pids)
	onHost := readEvents(t, stopHost(), pids)
	t.Logf("%d events of the scenario in the pod, %d on the host", len(inPod), len(onHost))
	// unshare -u; two nsenter; ip netns add: unshare, setns back; ip netns
	// exec: setns, unshare of a mount namespace (to mount its /sys).
	if len(inPod) != 7 {
		t.Errorf("%d events in the pod, want 7: %q", len(inPod), slices.Sorted(maps.Keys(inPod)))
	}

	hostUser := testenv.NsInode(t, "/proc/self/ns/user")
	if c := find(t, inPod, "unshare", "uts", created); c.Action != "create" || c.Owner != hostUser {
		t.Errorf("unshare -u: %+v, want a create owned by %d", c, hostUser)
	}
	if c := find(t, inPod, "setns", "uts", heldUts); c.Owner != hostUser {
		t.Errorf("join into the namespace made before the start: %+v, want owner %d", c, hostUser)
	}
	if c := find(t, inPod, "setns", "uts", ctrUts); c.Container == nil || c.Container.ID != ctr {
		t.Errorf("join into the container: %+v, want container %s", c, ctr)
	}
	if c := find(t, inPod, "setns", "net", postNet); c.Name != post {
		t.Errorf("join into ip netns %s: %+v", post, c)
	}
	back := false
	for _, ev := range inPod {
		for _, c := range ev.Changes {
			back = back || (c.From == postNet && c.Type == "net" && c.Host)
		}
	}
	if !back {
		t.Error("no return from the new netns marked as the host's")
	}
	if len(inPod) != len(onHost) {
		t.Errorf("%d events in the pod, %d on the host", len(inPod), len(onHost))
	}
	for key, h := range onHost {
		hj, _ := json.Marshal(h.raw)
		pj, _ := json.Marshal(inPod[key].raw)
		if string(hj) != string(pj) {
			t.Errorf("%s\non the host: %s\nin the pod:  %s", key, hj, pj)
		}
	}
}
