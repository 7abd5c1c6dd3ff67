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
	"syscall"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// These tests run the built nstrace binary as a user would.

var binary string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nstrace-e2e-")
	if err != nil {
		panic(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // so the unprivileged-user test can run it
		panic(err)
	}
	binary = filepath.Join(dir, "nstrace")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/nstrace/nstrace/cmd/nstrace").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tracing is a running `nstrace trace`, started and ready.
type tracing struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	stderr *bufio.Reader
	ready  string
}

// startTracing starts nstrace and returns once it says tracing started: the
// line comes after the ready file is written, so no sleeping is needed.
func startTracing(t *testing.T, args ...string) *tracing {
	t.Helper()
	testenv.RequireKernel(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(binary, append([]string{"trace", "--ready-file", ready}, args...)...)
	out, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr := &tracing{cmd: cmd, stdout: bufio.NewReader(out), stderr: bufio.NewReader(errp), ready: ready}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // it may have exited already
	readStarted(t, tr.stderr)
	if _, err := os.Stat(ready); err != nil {
		t.Fatalf("ready file: %v", err)
	}
	return tr
}

// stop sends SIGINT and returns the exit status and the rest of stderr.
func (tr *tracing) stop(t *testing.T) (int, string) {
	t.Helper()
	if err := tr.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(tr.stderr)
	_, _ = io.Copy(io.Discard, tr.stdout) // drains only, so that Wait can return
	err := tr.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(rest)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(rest)
}

// heldShell runs `sh -c script` with stdin held open; a line on stdin lets it go on.
func heldShell(t *testing.T, script string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() }) // reaps only; exits on EOF
	return cmd, in, bufio.NewReader(out)
}

// An isolated event reaches stdout with nothing else happening (the output
// is flushed, not held back), and Ctrl-C exits 0 with a summary.
func TestTraceDeliversAnIsolatedEventThenExitsCleanlyOnSigint(t *testing.T) {
	sh, in, shOut := heldShell(t, `read go; exec unshare -u sh -c 'readlink /proc/self/ns/uts; read done'`)
	// The shell's own namespace, not ours: a test that moved one of this
	// process's threads must not change what is expected here.
	before, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/uts", sh.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	tr := startTracing(t, "-o", "json", "--pid", strconv.Itoa(sh.Process.Pid))
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	after, _ := shOut.ReadString('\n')
	line, err := tr.stdout.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Event   string `json:"event"`
		Pid     int    `json:"pid"`
		Changes []struct {
			Type, Action string
			From, To     uint64
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	want := "uts create " + strings.Trim(before[4:], "[]") + " → " + strings.Trim(strings.TrimSpace(after)[4:], "[]")
	if ev.Event != "unshare" || ev.Pid != sh.Process.Pid || len(ev.Changes) != 1 ||
		ev.Changes[0].Type+" "+ev.Changes[0].Action+" "+strconv.FormatUint(ev.Changes[0].From, 10)+" → "+strconv.FormatUint(ev.Changes[0].To, 10) != want {
		t.Errorf("got %s\nwant unshare by %d: %s", line, sh.Process.Pid, want)
	}
	in.Close()
	code, rest := tr.stop(t)
	if code != 0 || rest != "nstrace: 1 events, 0 lost\n" {
		t.Errorf("exit %d, stderr %q; want 0 and the summary", code, rest)
	}
}

// A process named with terminal escapes shows up escaped in text mode.
func TestTextOutputEscapesAHostileComm(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(t.TempDir(), "\x1b[2J\x1b]0;x\a")
	data, _ := os.ReadFile(unshare)
	if err := os.WriteFile(evil, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sh, in, _ := heldShell(t, `read go; exec '`+evil+`' -u true`)
	tr := startTracing(t, "--pid", strconv.Itoa(sh.Process.Pid))
	header, _ := tr.stdout.ReadString('\n')
	if !strings.HasPrefix(header, "TIME(UTC)") {
		t.Fatalf("header %q", header)
	}
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	line, err := tr.stdout.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, ` \x1b[2J\x1b]0;x\x07 `) || strings.ContainsAny(line, "\x1b\a") {
		t.Errorf("line not escaped: %q", line)
	}
	tr.stop(t)
}

// Without privileges: one clear line, exit status 1, no stack trace.
func TestUnprivilegedRunFailsWithOneClearLine(t *testing.T) {
	testenv.RequireKernel(t) // to switch to an unprivileged user
	cmd := exec.Command(binary, "trace")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "nstrace: ") || !strings.Contains(lines[0], "not permitted: needs CAP_BPF (tracing needs CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH, or root)") {
		t.Errorf("stderr %q", stderr.String())
	}
	// The README quotes it as printed.
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "\n"+stderr.String()+"```\n") {
		t.Errorf("README.md does not quote the unprivileged error as printed:\n%s", stderr.String())
	}
}

// Bad flags: one line and exit status 2.
func TestBadFlagsGetOneLineAndStatus2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "yaml"}, `nstrace: unknown output format "yaml" (want text, wide or json)`},
		{[]string{"--type", "bogus"}, `nstrace: unknown namespace type "bogus" (want one of cgroup ipc mnt net pid pid_for_children time time_for_children user uts)`},
		{[]string{"--no-such-flag"}, `nstrace: unknown flag: --no-such-flag`},
		{[]string{"trace", "extra"}, `nstrace: trace takes no arguments, got "extra"`},
	} {
		cmd := exec.Command(binary, tc.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || strings.TrimSpace(stderr.String()) != tc.want {
			t.Errorf("%v: %v, stderr %q; want status 2 and %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}

// The seed workflow reads in words: `ip netns add X` creates net "X" (and
// returns to the host's), `ip netns exec X` joins net "X".
func TestIPNetnsEventsCarryTheName(t *testing.T) {
	name := "e2e-" + strconv.Itoa(os.Getpid())
	_, in, shOut := heldShell(t, `read go; ip netns add `+name+` && ip netns exec `+name+` true; echo done; read bye; ip netns del `+name)
	// Other tests may run ip at the same time: follow our two ip processes
	// by the name, then by their pids.
	tr := startTracing(t, "-o", "json", "--comm", "ip")
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	if line, _ := shOut.ReadString('\n'); line != "done\n" {
		t.Fatalf("ip netns: %q", line)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+name, &st); err != nil {
		t.Fatal(err)
	}
	type ipEvent struct {
		Event   string `json:"event"`
		Pid     int    `json:"pid"`
		Changes []struct {
			Type, Action, Name string
			To                 uint64
			Host               bool
		} `json:"changes"`
	}
	var got []string
	var addPid, execPid int
	for len(got) < 4 {
		line, err := tr.stdout.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		var ev ipEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil || len(ev.Changes) != 1 {
			t.Fatalf("%q: %v", line, err)
		}
		c := ev.Changes[0]
		switch {
		case c.Name == name && ev.Event == "unshare":
			addPid = ev.Pid
		case c.Name == name && ev.Event == "setns":
			execPid = ev.Pid
		case ev.Pid != addPid && ev.Pid != execPid:
			continue // someone else's ip
		}
		label := c.Name
		if c.Host {
			label = "(host)"
		}
		if c.Name == name && c.To != st.Ino {
			t.Errorf("named %q but inode %d; the mount has %d", name, c.To, st.Ino)
		}
		got = append(got, ev.Event+" "+c.Type+" "+c.Action+" "+label)
	}
	want := []string{"unshare net create " + name, "setns net join (host)", "setns net join " + name, "unshare mnt create "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	in.Close()
	tr.stop(t)
}
