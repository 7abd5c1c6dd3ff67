package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// These tests trace real runtimes through the nstrace binary, asking them
// by --runtime-endpoint for the names they gave, and replay what was
// recorded.

func TestKernelDockerContainersAreNamedLiveAndInReplay(t *testing.T) {
	testenv.RequireKernel(t)
	d := testenv.StartDocker(t)
	const image = "nstrace/busybox:test"
	d.ImportBusybox(t, image, "/bin/sleep", "100000")
	// A container running before nstrace starts: the session's inventory
	// names it.
	d.CLI(t, "run", "-d", "--name", "early", image)
	session := filepath.Join(t.TempDir(), "docker.jsonl")
	tr := startTracing(t, "-o", "json", "-w", session, "--runtime-endpoint", "docker:unix://"+d.Socket)
	bounded(t, tr)
	log := collect(t, tr.stdout)

	// Without docker's seccomp profile, which refuses setns before any
	// probe sees it: the setns below is then denied by the kernel
	// (no CAP_SYS_ADMIN), an event only that exec'd process makes.
	id := strings.TrimSpace(d.CLI(t, "run", "-d", "--name", "webfront", "--security-opt", "seccomp=unconfined", image))
	if out, err := exec.Command("/usr/bin/docker", "-H", "unix://"+d.Socket, "exec", "webfront",
		"nsenter", "--uts=/proc/1/ns/uts", "true").CombinedOutput(); err == nil {
		t.Fatalf("nsenter without CAP_SYS_ADMIN succeeded: %s", out)
	}
	want := podWant{runtime: "docker", name: "webfront", image: image}
	execd := log.await(t, "of docker exec's nsenter", func(ev *rtEvent) bool {
		return ev.Comm == "nsenter" && ev.Container != nil && ev.Container.ID == id
	})
	for _, ev := range execd {
		if ev.Event != "setns" || ev.Error != "EPERM" {
			t.Errorf("nsenter: %s", ev.line)
		}
		want.check(t, "docker exec: "+ev.line, ev.Container)
	}
	// The container's start and the exec name it.
	startNamed(t, log.matching(inContainer(id)), execd, want)

	// The session's header carries the inventory as the trace started,
	// with the container that ran before it named.
	if n := inventoryNamed(t, session, "early"); n != 5 {
		t.Errorf("the session's inventory names %d namespaces of early, want 5", n)
	}
	d.CLI(t, "rm", "-f", "early")

	// ls names the container's namespaces by what dockerd says.
	if rows := lsRows(t, []string{" ctr webfront "}, "--runtime-endpoint", "docker:unix://"+d.Socket); len(rows) != 5 {
		t.Errorf("ls: %d rows of webfront, want its cgroup, ipc, mnt, net, pid, uts but the cgroup (5):\n%s", len(rows), strings.Join(rows, "\n"))
	}

	// Killed mid-run: tracing goes on, and a container no runtime names
	// keeps its id (a runc container of its own).
	d.CLI(t, "rm", "-f", "webfront")
	d.Kill()
	unknownContainer(t, log, "nstrace-rt-e2e-orphan", "after dockerd was killed")
	code, stderr := stopCollected(t, tr, log)
	if code != 0 {
		t.Fatalf("trace exited %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "runtime docker (docker:unix://"+d.Socket+") lost") {
		t.Errorf("stderr does not say dockerd was lost:\n%s", stderr)
	}

	// The replay names them as the live run did, line for line.
	live := log.matching(inContainer(id))
	var back []rtEvent
	for _, ev := range replayed(t, session, "--container", id) {
		if inContainer(id)(&ev) {
			back = append(back, ev)
		}
	}
	if len(back) != len(live) {
		var b strings.Builder
		for _, ev := range live {
			b.WriteString("live " + ev.line + "\n")
		}
		for _, ev := range back {
			b.WriteString("back " + ev.line + "\n")
		}
		t.Fatalf("replay has %d events of webfront, live had %d:\n%s", len(back), len(live), b.String())
	}
	for i := range back {
		if back[i].line != live[i].line {
			t.Errorf("replay differs:\n live %s\n back %s", live[i].line, back[i].line)
		}
	}
	text := replayText(t, session, "--image", "nstrace/*", "--comm", "nsenter")
	if !strings.Contains(text, " in ctr webfront") || strings.Contains(text, "nstrace-rt-e2e-orphan") {
		t.Errorf("text replay of --image nstrace/* --comm nsenter:\n%s", text)
	}
}

// Bad runtime and identity flags: one line and exit status 2, for trace
// and ls alike.
func TestBadRuntimeFlagsGetOneLineAndStatus2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--runtime-endpoint", "relative/path"}, `nstrace: --runtime-endpoint "relative/path": runtime endpoint must be [cri:|docker:][unix://]/absolute/path`},
		{[]string{"ls", "--runtime-endpoint", "tcp://x"}, `nstrace: --runtime-endpoint "tcp://x": runtime endpoint must be [cri:|docker:][unix://]/absolute/path`},
		{[]string{"--no-runtimes", "--runtime-endpoint", "/x"}, `nstrace: --no-runtimes and --runtime-endpoint contradict each other`},
		{[]string{"--pod", "shop/"}, `nstrace: pod "shop/": want NAMESPACE/NAME or NAME, globs allowed`},
		{[]string{"--image", "["}, `nstrace: image "[": syntax error in pattern`},
		{[]string{"--k8s-namespace", "a["}, `nstrace: kubernetes namespace "a[": syntax error in pattern`},
	} {
		cmd := exec.Command(binary, tc.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || strings.TrimSpace(stderr.String()) != tc.want {
			t.Errorf("%v: %v, stderr %q; want status 2 and %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}
