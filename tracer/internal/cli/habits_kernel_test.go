package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// namedUnshare copies unshare under name (a comm of its own, so that other
// tests' unshares can be filtered out) and returns its path.
func namedUnshare(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(mine, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return mine
}

// runUnshares runs `unshare -u true` n times through path and returns the pids.
func runUnshares(t *testing.T, path string, n int) []int {
	t.Helper()
	var pids []int
	for range n {
		cmd := exec.Command(path, "-u", "true")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		pids = append(pids, cmd.Process.Pid)
	}
	return pids
}

// waitExit waits for a trace that stops by itself, for at most bound.
func waitExit(t *testing.T, cmd *exec.Cmd, bound time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(bound):
		t.Fatalf("trace still running after %v", bound)
	}
	return -1
}

func jsonPids(t *testing.T, out string) []int {
	t.Helper()
	var pids []int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Event string `json:"event"`
			Pid   int    `json:"pid"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		pids = append(pids, ev.Pid)
	}
	return pids
}

// trace -c 3 shows exactly the first three events and stops by itself,
// with status 0 and the summary.
func TestCountStopsTraceByItself(t *testing.T) {
	mine := namedUnshare(t, "nscount-unshare")
	tr := startTracing(t, "-c", "3", "-o", "json", "--comm", "nscount-unshare")
	pids := runUnshares(t, mine, 5)
	out, _ := io.ReadAll(tr.stdout)
	rest, _ := io.ReadAll(tr.stderr)
	if code := waitExit(t, tr.cmd, 15*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, rest)
	}
	if got := jsonPids(t, string(out)); fmt.Sprint(got) != fmt.Sprint(pids[:3]) {
		t.Errorf("shown pids %v, want the first three of %v:\n%s", got, pids, out)
	}
	summary := regexp.MustCompile(`^nstrace: 3 events( \(\d+ filtered out\))?(, [12] more while stopping at the count, not shown)?, 0 lost\n$`)
	if !summary.Match(rest) {
		t.Errorf("stderr %q", rest)
	}
}

// A build stamped as make build stamps it: --duration stops it by itself
// with status 0; the start line says what is traced and, calmly, what is
// not; the session header and nstrace_build_info carry the version.
func TestDurationStopsAndTheVersionIsStamped(t *testing.T) {
	testenv.RequireKernel(t)
	stamped := filepath.Join(filepath.Dir(binary), "nstrace-stamped")
	if out, err := exec.Command("go", "build", "-ldflags", "-X github.com/nstrace/nstrace/tracer/internal/cli.version=v0.0.0-e2e", "-o", stamped, "github.com/nstrace/nstrace/cmd/nstrace").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	mine := namedUnshare(t, "nsdur-unshare")
	dir := t.TempDir()
	session, ready := filepath.Join(dir, "s.jsonl"), filepath.Join(dir, "ready")
	cmd := exec.Command(stamped, "trace", "--duration", "3s", "--ready-file", ready, "-w", session, "-o", "json",
		"--metrics", "127.0.0.1:0", "--hooks", "tracepoint", "--comm", "nsdur-unshare")
	stdout, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	stderr := bufio.NewReader(errp)
	line, _ := stderr.ReadString('\n')
	if line == tracefsNote { // the first trace of a run on a host without tracefs
		line, _ = stderr.ReadString('\n')
	}
	started := time.Now()
	want := "nstrace: tracing started; unshare setns clone exec (tracepoint), fork procexec (tp_btf); note: no destroy events, as --hooks tracepoint leaves out fentry\n"
	if line != want {
		t.Errorf("start line\n%q\nwant\n%q", line, want)
	}
	line, _ = stderr.ReadString('\n')
	url := strings.TrimSuffix(strings.TrimPrefix(line, "nstrace: metrics at "), "\n")
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	info := fmt.Sprintf(`nstrace_build_info{goarch=%q,goversion=%q,version="v0.0.0-e2e"} 1`, runtime.GOARCH, runtime.Version())
	if !strings.Contains(string(body), info+"\n") {
		t.Errorf("metrics lack %s", info)
	}
	pids := runUnshares(t, mine, 2)
	out, _ := io.ReadAll(stdout)
	rest, _ := io.ReadAll(stderr)
	if code := waitExit(t, cmd, 15*time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, rest)
	}
	if took := time.Since(started); took < 2900*time.Millisecond {
		t.Errorf("stopped after %v, want 3s", took)
	}
	if got := jsonPids(t, string(out)); fmt.Sprint(got) != fmt.Sprint(pids) {
		t.Errorf("pids %v, want %v", got, pids)
	}
	if !regexp.MustCompile(`^nstrace: 2 events( \(\d+ filtered out\))?, 0 lost\nnstrace: session saved to `).Match(rest) {
		t.Errorf("stderr %q", rest)
	}
	f, err := os.Open(session)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h struct {
		Version string `json:"nstrace"`
	}
	first, _ := bufio.NewReader(f).ReadBytes('\n')
	if err := json.Unmarshal(first, &h); err != nil || h.Version != "v0.0.0-e2e" {
		t.Errorf("session header %s: version %q (%v)", first, h.Version, err)
	}
}
