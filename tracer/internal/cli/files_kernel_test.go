package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
	"github.com/nstrace/nstrace/tracer/session"
)

// Kernel tests of the files trace writes: rotation across restarts, the
// inventory of rotated parts, a full disk.

func unshares(t *testing.T, n int) {
	t.Helper()
	if out, err := exec.Command("sh", "-c", fmt.Sprintf(`for i in $(seq %d); do unshare -u true; done`, n)).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
}

// The README's rotating recorder, run twice: the second run numbers on
// after the first's parts, and --rotate-keep counts them all.
func TestARestartedRotatingRecorderNumbersOn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ns.jsonl")
	highest := func() int {
		files, _ := filepath.Glob(filepath.Join(dir, "ns.*.jsonl"))
		if len(files) == 0 {
			return 0
		}
		n, _ := strconv.Atoi(strings.Split(filepath.Base(files[len(files)-1]), ".")[1])
		return n
	}
	var sessions []string
	for run := 1; run <= 2; run++ {
		before := highest()
		rec := startRecorder(t, "-q", "-w", path, "--rotate-size", "4K", "--rotate-keep", "2")
		unshares(t, 100)
		code, _, stderr := rec.stop(t, syscall.SIGINT)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, code, stderr)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "ns.*.jsonl"))
		if len(files) != 2 {
			t.Fatalf("run %d left %v, want 2 files", run, files)
		}
		last := highest()
		if last < before+3 {
			t.Fatalf("run %d: parts up to %d after %d: too few rotations to tell", run, last, before)
		}
		r, err := session.Open(files[0])
		if err != nil {
			t.Fatal(err)
		}
		h := r.Header()
		r.Close()
		if n, _ := strconv.Atoi(strings.Split(filepath.Base(files[0]), ".")[1]); h.Part != n-before {
			t.Errorf("run %d: %s says part %d, want %d", run, files[0], h.Part, n-before)
		}
		sessions = append(sessions, h.Session)
		if !strings.Contains(stderr, fmt.Sprintf("nstrace: session saved to %s %s\n", session.PartName(path, last-1), session.PartName(path, last))) {
			t.Errorf("run %d stderr:\n%s", run, stderr)
		}
	}
	if sessions[0] == sessions[1] {
		t.Error("the second run wrote no parts of its own")
	}
}

// A namespace named after the recording started is in the inventory of
// every part that starts after it, so a later part replays alone with it.
func TestLaterPartsCarryTheInventoryAtTheirStart(t *testing.T) {
	name := fmt.Sprintf("nstrace-inv-%d", os.Getpid())
	dir := t.TempDir()
	rec := startRecorder(t, "-q", "-w", filepath.Join(dir, "i.jsonl"), "--rotate-size", "4K")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer func() { _ = exec.Command("ip", "netns", "del", name).Run() }() // cleanup only
	unshares(t, 80)
	if out, err := exec.Command("nsenter", "--net=/run/netns/"+name, "true").CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v %s", err, out)
	}
	if code, _, stderr := rec.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "i.*.jsonl"))
	if len(files) < 3 {
		t.Fatalf("files %v", files)
	}
	named := func(file string) bool {
		r, err := session.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var inv inventory.Inventory
		if _, err := r.Header().DecodeInventory(&inv); err != nil {
			t.Fatal(err)
		}
		for _, ns := range inv.Namespaces {
			for _, n := range ns.Names {
				if n == name {
					return true
				}
			}
		}
		return false
	}
	if named(files[0]) {
		t.Errorf("%s names %s, made after it started", files[0], name)
	}
	// The part holding the join, replayed alone, names the namespace.
	var joined string
	for _, f := range files {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), `"comm":"nsenter"`) {
			joined = f
		}
	}
	if joined == "" || joined == files[0] {
		t.Fatalf("the join is in %q of %v", joined, files)
	}
	if !named(joined) {
		t.Errorf("%s, started after %s was named, does not name it", joined, name)
	}
	out, stderr, code := nstrace(t, nil, "replay", "--no-alerts", "--comm", "nsenter", joined)
	if code != 0 || !strings.Contains(out, name) {
		t.Errorf("replay of %s alone (exit %d, %s):\n%s", joined, code, stderr, out)
	}
}

// With -w on a full disk, tracing goes on: one line says so, and the
// summary counts as lost exactly the events the file does not hold.
func TestAFullDiskCountsEveryUnwrittenEvent(t *testing.T) {
	testenv.RequireKernel(t)
	dir := t.TempDir()
	mnt, ready, pidFile, errFile, copied := filepath.Join(dir, "mnt"), filepath.Join(dir, "ready"),
		filepath.Join(dir, "pid"), filepath.Join(dir, "stderr"), filepath.Join(dir, "copy.jsonl")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	// A 64 KiB tmpfs in a mount namespace of its own; the file is copied out
	// before that namespace goes. In the background, nstrace ignores
	// SIGINT (as sh sets it up): SIGTERM stops it.
	script := `mount -t tmpfs -o size=64k nstrace-full "$1" || exit 9
"$2" trace -q -w "$1/full.jsonl" --ready-file "$3" --metrics 127.0.0.1:0 2>"$5" &
echo $! >"$4"
wait $!
rc=$?
cp "$1/full.jsonl" "$6"
exit $rc`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", mnt, binary, ready, pidFile, errFile, copied)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // it may have exited already
	waitFor(t, "the ready file", func() bool { _, err := os.Stat(ready); return err == nil })
	unshares(t, 200)
	waitFor(t, "the disk to fill", func() bool {
		b, _ := os.ReadFile(errFile)
		if !strings.Contains(string(b), "recording stopped") {
			unshares(t, 20)
			return false
		}
		return true
	})
	unshares(t, 50) // tracing goes on
	b, _ := os.ReadFile(errFile)
	addr := regexp.MustCompile(`nstrace: metrics at (http://127\.0\.0\.1:\d+/metrics)\n`).FindSubmatch(b)
	if addr == nil {
		t.Fatalf("no metrics address:\n%s", b)
	}
	resp, err := http.Get(string(addr[1]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	scraped := regexp.MustCompile(`(?m)^nstrace_lost_events_total\{cause="write"\} (\d+)$`).FindSubmatch(body)
	if scraped == nil {
		t.Fatalf("no write losses in the metrics:\n%s", body)
	}
	b, _ = os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid == 0 {
		t.Fatalf("no pid: %q", b)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	b, _ = os.ReadFile(errFile)
	stderr := string(b)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var full []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "nstrace: ") {
			t.Errorf("line without the prefix: %q", l)
		}
		if strings.Contains(l, "no space left on device") {
			full = append(full, l)
		}
	}
	want := "nstrace: write session " + filepath.Join(mnt, "full.jsonl") + ": no space left on device: recording stopped; tracing goes on, events not recorded are counted as lost"
	if len(full) != 1 || full[0] != want {
		t.Errorf("disk-full lines %q, want one: %s", full, want)
	}
	m := regexp.MustCompile(`(?m)^nstrace: (\d+) events, (\d+) lost \((\d+) not written to the session file\)$`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("summary missing:\n%s", stderr)
	}
	events, _ := strconv.Atoi(m[1])
	lost, _ := strconv.Atoi(m[2])
	unwritten, _ := strconv.Atoi(m[3])
	replayed, rstderr, code := nstrace(t, nil, "replay", "-o", "json", "--no-alerts", copied)
	if code != 0 {
		t.Fatalf("replay: %s", rstderr)
	}
	inFile := strings.Count(replayed, "\n") - strings.Count(replayed, `"event":"lost"`)
	if n, _ := strconv.Atoi(string(scraped[1])); n == 0 || n > unwritten {
		t.Errorf("metrics counted %d events not written, the summary %d", n, unwritten)
	}
	if unwritten == 0 || inFile+unwritten != events || lost != unwritten+markedLost(replayed) {
		t.Errorf("summary: %d events, %d lost, %d unwritten; the file holds %d events\n%s", events, lost, unwritten, inFile, stderr)
	}
	if strings.Contains(stderr, "session saved") {
		t.Errorf("a recording cut short said saved:\n%s", stderr)
	}
}

// markedLost sums the loss markers of replay -o json output.
func markedLost(out string) int {
	n := 0
	for _, m := range regexp.MustCompile(`"event":"lost","count":(\d+)`).FindAllStringSubmatch(out, -1) {
		c, _ := strconv.Atoi(m[1])
		n += c
	}
	return n
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --append on a compressed file adds a session in a new gzip member or
// zstd frame; replay reads both.
func TestAppendToACompressedRecording(t *testing.T) {
	for _, name := range []string{"a.jsonl.gz", "a.jsonl.zst"} {
		path := filepath.Join(t.TempDir(), name)
		counts := make([]int, 2)
		for run := range 2 {
			args := []string{"-q", "-w", path}
			if run == 1 {
				args = append(args, "--append")
			}
			rec := startRecorder(t, args...)
			unshares(t, 10)
			code, _, stderr := rec.stop(t, syscall.SIGINT)
			m := regexp.MustCompile(`nstrace: (\d+) events, 0 lost`).FindStringSubmatch(stderr)
			if code != 0 || m == nil {
				t.Fatalf("%s run %d: exit %d: %s", name, run, code, stderr)
			}
			counts[run], _ = strconv.Atoi(m[1])
		}
		out, stderr, code := nstrace(t, nil, "replay", "-o", "json", "--no-alerts", path)
		if code != 0 || strings.Contains(stderr, "warning") {
			t.Fatalf("%s: replay exit %d: %s", name, code, stderr)
		}
		if n := strings.Count(out, "\n"); n != counts[0]+counts[1] || counts[0] < 10 || counts[1] < 10 {
			t.Errorf("%s: replayed %d events, the two runs recorded %v", name, n, counts)
		}
	}
}
