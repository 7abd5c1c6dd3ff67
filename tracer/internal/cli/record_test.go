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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// Kernel tests of recording: each traces real namespace churn.

// recorder is a running `nstrace trace`, its stdout going to a file.
type recorder struct {
	cmd    *exec.Cmd
	stdout string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// startRecorder starts nstrace trace with args and returns once its probes
// are attached and its session file (if any) exists.
func startRecorder(t *testing.T, args ...string) *recorder {
	t.Helper()
	testenv.RequireKernel(t)
	dir := t.TempDir()
	r := &recorder{stdout: filepath.Join(dir, "stdout"), done: make(chan struct{})}
	out, err := os.Create(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	r.cmd = exec.Command(binary, append([]string{"trace", "--ready-file", filepath.Join(dir, "ready")}, args...)...)
	r.cmd.Stdout = out
	errp, _ := r.cmd.StderrPipe()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); <-r.done }) // it may have exited already
	br := bufio.NewReader(errp)
	readStarted(t, br)
	go func() {
		defer close(r.done)
		b, _ := io.ReadAll(br)
		r.mu.Lock()
		r.stderr.Write(b)
		r.mu.Unlock()
		_ = r.cmd.Wait() // stop reads the exit status from ProcessState
	}()
	return r
}

// stop signals the recorder and returns its exit status, stdout and stderr.
func (r *recorder) stop(t *testing.T, sig syscall.Signal) (int, string, string) {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("recorder did not stop")
	}
	out, _ := os.ReadFile(r.stdout)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd.ProcessState.ExitCode(), string(out), r.stderr.String()
}

// churn creates, joins and fails to create namespaces, as people do: util-linux
// unshare and nsenter, ip netns, and an unprivileged attempt.
func churn(t *testing.T) {
	t.Helper()
	name := fmt.Sprintf("nstrace-rec-%d", os.Getpid())
	script := `set -e
unshare -n -u true
unshare -i -m --propagation private true
ip netns add ` + name + `
ip netns exec ` + name + ` unshare -u true
nsenter --net=/run/netns/` + name + ` true
ip netns del ` + name + `
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -n true 2>/dev/null || true
`
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		_ = exec.Command("ip", "netns", "del", name).Run() // cleanup before failing
		t.Fatalf("churn: %v\n%s", err, out)
	}
}

// A live run, recorded, replays event for event as it showed, in text and
// in JSON, byte for byte.
func TestRecordedSessionReplaysExactlyAsLiveShowedIt(t *testing.T) {
	dir := t.TempDir()
	asJSON := startRecorder(t, "-o", "json", "-w", filepath.Join(dir, "a.jsonl"))
	asText := startRecorder(t, "-w", filepath.Join(dir, "b.jsonl.gz"))
	churn(t)
	codeA, liveJSON, errA := asJSON.stop(t, syscall.SIGINT)
	codeB, liveText, errB := asText.stop(t, syscall.SIGTERM)
	if codeA != 0 || codeB != 0 {
		t.Fatalf("exit %d, %d\n%s\n%s", codeA, codeB, errA, errB)
	}
	if !strings.Contains(errA, "nstrace: session saved to "+filepath.Join(dir, "a.jsonl")) {
		t.Errorf("stderr: %s", errA)
	}
	for _, want := range []string{`"comm":"unshare"`, `"comm":"ip"`, `"comm":"nsenter"`, `"error":"EPERM"`} {
		if !strings.Contains(liveJSON, want) {
			t.Errorf("live JSON lacks %s:\n%s", want, liveJSON)
		}
	}

	// The alerts shown live are recorded after their events and replayed
	// as recorded (the unprivileged attempt raises one).
	liveAlerts := strings.Count(liveJSON, `"event":"alert","rule"`)
	file, _ := os.ReadFile(filepath.Join(dir, "a.jsonl"))
	if liveAlerts == 0 || bytes.Count(file, []byte(`"event":"alert","rule"`)) != liveAlerts {
		t.Errorf("%d alerts live, %d in the session file", liveAlerts, bytes.Count(file, []byte(`"event":"alert","rule"`)))
	}
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", filepath.Join(dir, "a.jsonl"))
	if !strings.Contains(stderr, "nstrace: alerts as recorded by rules ") {
		t.Errorf("replay does not show the recorded alerts: %s", stderr)
	}
	if code != 0 || out != liveJSON {
		t.Errorf("JSON replay (exit %d, %s) differs from live:\n%s\nlive:\n%s", code, stderr, out, liveJSON)
	}
	// A reader's warning, not an alert's severity: others' alerts may be
	// in the recording too.
	if strings.Contains(stderr, ": warning: ") {
		t.Errorf("replay of a cleanly stopped recording warns: %s", stderr)
	}
	out, stderr, code = nstrace(t, nil, "replay", filepath.Join(dir, "b.jsonl.gz"))
	if code != 0 || out != liveText {
		t.Errorf("text replay (exit %d, %s) differs from live:\n%s\nlive:\n%s", code, stderr, out, liveText)
	}
	st, err := os.Stat(filepath.Join(dir, "a.jsonl"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("session file mode: %v %v", st.Mode(), err)
	}
}

// kill -9 of a busy recorder leaves a file whose every complete line replays.
func TestKilledRecorderLeavesEveryCompleteRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.jsonl")
	rec := startRecorder(t, "-q", "-w", path)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a steady stream of events until the kill
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = exec.Command("unshare", "-u", "true").Run() // load only: a failure is just less load
			}
		}
	}()
	// The kill lands mid-stream: once records have reached the file, with
	// the load still running.
	waitForLines(t, path, 30)
	code, _, _ := rec.stop(t, syscall.SIGKILL)
	close(stop)
	wg.Wait()
	if code != -1 {
		t.Fatalf("recorder exit %d, want death by SIGKILL", code)
	}
	data, _ := os.ReadFile(path)
	// Complete records less the header; alert records are left out on both
	// sides (replay would raise again one whose line the kill cut off).
	// Seal records (the hash chain) are no events either.
	whole := data[:bytes.LastIndexByte(data, '\n')+1]
	complete := bytes.Count(whole, []byte("\n")) - 1 - bytes.Count(whole, []byte(`"event":"alert","rule"`)) - bytes.Count(whole, []byte(`{"event":"seal"`))
	if complete < 5 {
		t.Fatalf("only %d event records in the file", complete)
	}
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", "--no-alerts", path)
	if code != 0 {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	if n := strings.Count(out, "\n"); n != complete {
		t.Errorf("replayed %d events of %d complete records", n, complete)
	}
	// One warning: the torn last record, or the missing trailer. The
	// records no seal covers are no sign of tampering.
	if w := strings.Count(stderr, "warning"); w != 1 {
		t.Errorf("%d warnings, want one:\n%s", w, stderr)
	}
}

// waitForLines waits, at most 30 s, until the file at path holds n lines.
func waitForLines(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if bytes.Count(data, []byte("\n")) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d lines after 30 s", path, n)
		}
		time.Sleep(20 * time.Millisecond) // polling, bounded above
	}
}

// Filters applied live (pid and type in the kernel, the rest after) keep
// exactly what the same filters keep when replaying an unfiltered recording.
func TestLiveFiltersAgreeWithReplayedFilters(t *testing.T) {
	// One process (the shell's pid, kept through exec) unshares net and uts,
	// joins back our net namespace, and unshares ipc and net; a child of
	// it unshares too.
	sh, in, _ := heldShell(t, fmt.Sprintf(`read go; exec unshare -n -u nsenter --net=/proc/%d/ns/net unshare -i -n sh -c 'unshare -n true; read done'`, os.Getpid()))
	pid := strconv.Itoa(sh.Process.Pid)
	filters := []string{"--pid", pid, "--type", "net,ipc", "--event", "unshare,setns", "--comm", "u*,n*"}
	all := filepath.Join(t.TempDir(), "all.jsonl")
	everything := startRecorder(t, "-q", "-w", all)
	filtered := startRecorder(t, append([]string{"-o", "json"}, filters...)...)
	if _, err := io.WriteString(in, "go\n"); err != nil {
		t.Fatal(err)
	}
	churn(t)
	in.Close()
	_ = sh.Wait() // reaps only: its last "read done" meets EOF, so it exits 1
	if code, _, stderr := everything.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("recorder: %s", stderr)
	}
	code, live, stderr := filtered.stop(t, syscall.SIGINT)
	if code != 0 {
		t.Fatalf("filtered trace: %s", stderr)
	}
	replayed, stderr, code := nstrace(t, nil, append([]string{"replay", "-o", "json", all}, filters...)...)
	if code != 0 {
		t.Fatalf("replay: %s", stderr)
	}
	// Two tracers stamp one kernel event with clocks a few µs apart.
	if l, r := withoutTimes(t, live), withoutTimes(t, replayed); l != r {
		t.Errorf("live with filters:\n%s\nreplayed with filters:\n%s", l, r)
	}
	if n := strings.Count(live, "\n"); n != 3 {
		t.Errorf("live kept %d events, want the shell's unshare, setns and unshare:\n%s", n, live)
	}
}

func withoutTimes(t *testing.T, lines string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.SplitAfter(lines, "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		delete(m, "time")
		enc, _ := json.Marshal(m)
		b.Write(enc)
		b.WriteByte('\n')
	}
	return b.String()
}

// A rotating recorder leaves the newest N numbered files, which replay as
// one stream in order.
func TestRotatingRecorderKeepsTheNewestFiles(t *testing.T) {
	dir := t.TempDir()
	rec := startRecorder(t, "-q", "-w", filepath.Join(dir, "r.jsonl"), "--rotate-size", "4K", "--rotate-keep", "3")
	if out, err := exec.Command("sh", "-c", `for i in $(seq 150); do unshare -u true; done`).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	code, _, stderr := rec.stop(t, syscall.SIGINT)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "r.*.jsonl"))
	if len(files) != 3 {
		t.Fatalf("files %v, want 3", files)
	}
	n, _ := strconv.Atoi(strings.Split(filepath.Base(files[2]), ".")[1])
	for i, f := range files {
		if want := filepath.Join(dir, fmt.Sprintf("r.%06d.jsonl", n-2+i)); f != want || n < 3 {
			t.Errorf("file %d is %s, want %s", i, f, want)
		}
	}
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", filepath.Join(dir, "r.*.jsonl"))
	// The one warning: the seals can not tie what is kept to the start.
	startGone := fmt.Sprintf("nstrace: replay %s: line 1 (byte 0): warning: NOT verified: part %d: the recording starts at part %d: parts 1–%d not given\n",
		files[0], n-2, n-2, n-3)
	if code != 0 || strings.Count(stderr, ": warning: ") != 1 || !strings.Contains(stderr, startGone) {
		t.Fatalf("replay exit %d: %s\nwant the one warning %s", code, stderr, startGone)
	}
	var last string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		stamp := line[:45]
		if stamp < last {
			t.Fatalf("out of order: %s after %s", stamp, last)
		}
		last = stamp
	}
}
