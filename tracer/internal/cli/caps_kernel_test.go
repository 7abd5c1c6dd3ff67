package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/caps"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// These tests run nstrace as uid 65534 holding exactly a set of
// capabilities (setpriv: inheritable, ambient and bounding sets), as the
// systemd unit and the DaemonSet do, to prove that caps.Deploy is enough
// and that each of its capabilities is needed and named when missing.

// asNobody is argv run by setpriv as uid and gid 65534, no groups, with
// exactly the capabilities cs.
func asNobody(t *testing.T, cs []caps.Cap, argv ...string) *exec.Cmd {
	t.Helper()
	testenv.MountTracefs(t)
	setpriv := testenv.RequireTool(t, "setpriv")
	list := "-all"
	for _, c := range cs {
		list += ",+" + strings.ToLower(strings.TrimPrefix(c.Name, "CAP_"))
	}
	args := []string{"--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=" + list, "--ambient-caps=" + list, "--bounding-set=" + list, "--"}
	return exec.Command(setpriv, append(args, argv...)...)
}

// without is cs less c.
func without(cs []caps.Cap, c caps.Cap) []caps.Cap {
	var out []caps.Cap
	for _, x := range cs {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

// nobodyDir is a temporary directory uid 65534 can write in, right under
// the temporary root: t.TempDir's parent is root's, mode 0700.
func nobodyDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nstrace-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// capsChange is what these tests read of an event's JSON line.
type capsChange struct {
	Event   string `json:"event"`
	Changes []struct {
		Type   string `json:"type"`
		Action string `json:"action"`
		To     uint32 `json:"to"`
		Owner  uint32 `json:"owner"`
	} `json:"changes"`
}

// capsRun is what a traced scenario produced.
type capsRun struct {
	created, joined uint32 // the namespaces the scenario made and joined
	events          []capsChange
	stderr          []string // every line but the start and the summary
}

// traceScenarioAs traces, as nobody with cs, a host `unshare -u` (made
// while tracing) and an nsenter into a UTS namespace made before nstrace
// started, which only the inventory at start can name.
func traceScenarioAs(t *testing.T, cs []caps.Cap) capsRun {
	t.Helper()
	testenv.RequireKernel(t)
	unshare := testenv.RequireTool(t, "unshare")
	nsenter := testenv.RequireTool(t, "nsenter")
	held, in, heldOut := heldShell(t, `exec `+unshare+` -u sh -c 'readlink /proc/self/ns/uts; read done'`)
	if _, err := heldOut.ReadString('\n'); err != nil { // unshared: its namespace is now fixed
		t.Fatal(err)
	}
	defer in.Close()
	var run capsRun
	run.joined = testenv.NsInode(t, fmt.Sprintf("/proc/%d/ns/uts", held.Process.Pid))

	ready := filepath.Join(nobodyDir(t), "ready")
	cmd := asNobody(t, cs, binary, "trace", "--hooks", "tracepoint", "-o", "json",
		"--comm", "unshare,nsenter", "--ready-file", ready)
	out, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	stderr := bufio.NewReader(errp)
	for {
		line, err := stderr.ReadString('\n')
		if err != nil {
			t.Fatalf("no start line; stderr ended (%v) after %q", err, run.stderr)
		}
		if strings.HasPrefix(line, "nstrace: tracing started; ") {
			break
		}
		run.stderr = append(run.stderr, strings.TrimSuffix(line, "\n"))
	}
	made, err := exec.Command(unshare, "-u", "readlink", "/proc/self/ns/uts").Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, ino, ok := procfs.ParseNsLink(strings.TrimSpace(string(made))); ok {
		run.created = ino
	}
	if out, err := exec.Command(nsenter, "-t", strconv.Itoa(held.Process.Pid), "-u", "true").CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v: %s", err, out)
	}
	// Both events are in once the join shows: nstrace writes in order.
	dec := json.NewDecoder(out)
	for {
		var ev capsChange
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("stdout ended (%v) before the join into %d", err, run.joined)
		}
		run.events = append(run.events, ev)
		if ev.Event == "setns" && len(ev.Changes) > 0 && ev.Changes[0].To == run.joined {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("trace: %v; stderr %q", err, rest)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(rest), "\n"), "\n") {
		if !strings.HasPrefix(line, "nstrace: ") || !strings.Contains(line, " events") {
			run.stderr = append(run.stderr, line)
		}
	}
	return run
}

// change finds the change of the first event of kind that makes or joins ino.
func (r capsRun) change(t *testing.T, kind string, ino uint32) (action string, owner uint32) {
	t.Helper()
	for _, ev := range r.events {
		for _, c := range ev.Changes {
			if ev.Event == kind && c.Type == "uts" && c.To == ino {
				return c.Action, c.Owner
			}
		}
	}
	t.Fatalf("no %s event into uts %d among %+v", kind, ino, r.events)
	return "", 0
}

// With exactly caps.Deploy, nobody traces the host's unshare and names both
// namespaces: each gets its owner, the host's user namespace, and the one
// made before the start is known from the inventory (/proc/PID/ns).
func TestDeployCapabilitiesTraceAndName(t *testing.T) {
	run := traceScenarioAs(t, caps.Deploy)
	hostUser := testenv.NsInode(t, "/proc/self/ns/user") // the test runs as root on the host
	if len(run.stderr) != 0 {
		t.Errorf("stderr has more than the start and the summary: %q", run.stderr)
	}
	if run.created == 0 || run.created == testenv.NsInode(t, "/proc/self/ns/uts") {
		t.Fatalf("unshare -u made no new namespace: %d", run.created)
	}
	if action, owner := run.change(t, "unshare", run.created); action != "create" || owner != hostUser {
		t.Errorf("unshare into %d: %s, owner %d; want create, owner %d", run.created, action, owner, hostUser)
	}
	if action, owner := run.change(t, "setns", run.joined); action != "join" || owner != hostUser {
		t.Errorf("setns into %d: %s, owner %d; want join, owner %d", run.joined, action, owner, hostUser)
	}
}

// Without CAP_SYS_PTRACE nobody still traces, but cannot read root's
// /proc/PID/ns: the namespace made before the start stays unnamed, and one
// line says which capability would name it.
func TestDeployWithoutSysPtraceSaysNamesNeedIt(t *testing.T) {
	run := traceScenarioAs(t, without(caps.Deploy, caps.SysPtrace))
	want := "are unreadable and stay unnamed: needs CAP_SYS_PTRACE (naming needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, or root)"
	if len(run.stderr) != 1 || !strings.HasPrefix(run.stderr[0], "nstrace: the namespaces of ") || !strings.HasSuffix(run.stderr[0], want) {
		t.Errorf("stderr %q, want one line ending %q", run.stderr, want)
	}
	if _, owner := run.change(t, "setns", run.joined); owner != 0 {
		t.Errorf("setns into %d has owner %d without CAP_SYS_PTRACE", run.joined, owner)
	}
}

// Without any one of tracing's capabilities, trace fails with exit status 1
// and one line naming the one missing.
func TestDeployWithoutATracingCapabilityNamesIt(t *testing.T) {
	testenv.RequireKernel(t)
	for _, c := range caps.Trace {
		t.Run(c.Name, func(t *testing.T) {
			cmd := asNobody(t, without(caps.Deploy, c), binary, "trace", "--hooks", "tracepoint",
				"--ready-file", filepath.Join(nobodyDir(t), "ready"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; stderr %q", err, stderr.String())
			}
			want := "not permitted: needs " + c.Name + " (tracing needs CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH, or root) ("
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "nstrace: ") || !strings.Contains(lines[0], want) {
				t.Errorf("stderr %q, want one line with %q", stderr.String(), want)
			}
		})
	}
}

// Where no tracefs is mounted, nobody with caps.Deploy cannot mount it:
// one line names CAP_SYS_ADMIN, the only thing mounting needs. The mount
// is removed in a private mount namespace only.
func TestDeployWithoutTracefsSaysMountingNeedsSysAdmin(t *testing.T) {
	unshare := testenv.RequireTool(t, "unshare")
	nobody := asNobody(t, caps.Deploy, binary, "trace", "--hooks", "tracepoint")
	cmd := exec.Command(unshare, append([]string{"-m", "sh", "-c",
		`umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/tracing 2>/dev/null; ` +
			`test -e /sys/kernel/tracing/events && { echo tracefs still mounted >&2; exit 99; }; exec "$0" "$@"`},
		nobody.Args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr %q", err, stderr.String())
	}
	want := "nstrace: mount tracefs at /sys/kernel/tracing: not permitted: needs CAP_SYS_ADMIN (mounting tracefs needs CAP_SYS_ADMIN, or root) (operation not permitted)\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// lsAs runs `nstrace ls -o json --type uts` as nobody with cs and returns
// the processes it counts in UTS namespace ino, and its stderr.
func lsAs(t *testing.T, cs []caps.Cap, ino uint32) (int, string) {
	t.Helper()
	cmd := asNobody(t, cs, binary, "ls", "-o", "json", "--type", "uts")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ls: %v; stderr %q", err, stderr.String())
	}
	procs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ns struct {
			Inode     uint32 `json:"inode"`
			Processes int    `json:"processes"`
		}
		if err := json.Unmarshal([]byte(line), &ns); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if ns.Inode == ino {
			procs = ns.Processes
		}
	}
	return procs, stderr.String()
}

// ls needs caps.Names to see root's namespaces: with them, nobody lists a
// UTS namespace root made; without CAP_SYS_PTRACE it cannot, and says why.
func TestLsNeedsTheNamesCapabilities(t *testing.T) {
	unshare := testenv.RequireTool(t, "unshare")
	held, in, heldOut := heldShell(t, `exec `+unshare+` -u sh -c 'readlink /proc/self/ns/uts; read done'`)
	defer in.Close()
	if _, err := heldOut.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	ino := testenv.NsInode(t, fmt.Sprintf("/proc/%d/ns/uts", held.Process.Pid))
	if procs, stderr := lsAs(t, caps.Names, ino); procs != 1 || stderr != "" {
		t.Errorf("with %s: uts %d has %d processes, want 1; stderr %q", caps.List(caps.Names), ino, procs, stderr)
	}
	procs, stderr := lsAs(t, without(caps.Names, caps.SysPtrace), ino)
	want := "are unreadable and stay unnamed: needs CAP_SYS_PTRACE (naming needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, or root)\n"
	if procs != 0 || !strings.HasPrefix(stderr, "nstrace: the namespaces of ") || !strings.HasSuffix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("without CAP_SYS_PTRACE: uts %d has %d processes, want 0 (unseen); stderr %q, want one line ending %q", ino, procs, stderr, want)
	}
}
