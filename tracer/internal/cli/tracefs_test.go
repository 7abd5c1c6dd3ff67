package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// tracefsNote is what trace says first when it had to mount tracefs. On a
// machine that boots without tracefs, the first trace of a test run says it
// and the later ones don't: tests that start trace accept it either way.
const tracefsNote = "nstrace: mounted tracefs at /sys/kernel/tracing\n"

// readStarted reads trace's stderr up to its "tracing started" line, which
// may follow the tracefs note, and fails on anything else.
func readStarted(t *testing.T, stderr *bufio.Reader) {
	t.Helper()
	line, err := stderr.ReadString('\n')
	if line == tracefsNote {
		line, err = stderr.ReadString('\n')
	}
	if !strings.HasPrefix(line, "nstrace: tracing started; ") {
		t.Fatalf("stderr line %q (%v), want \"nstrace: tracing started; …\"", line, err)
	}
}

// Without tracefs, trace mounts it, says so first, and traces. The mount
// happens in a private mount namespace with every tracing mount removed, so
// the host's mounts decide nothing here and are left alone.
func TestTraceMountsTracefsWhenMissing(t *testing.T) {
	testenv.RequireKernel(t)
	unshare := testenv.RequireTool(t, "unshare")
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(unshare, "-m", "sh", "-c",
		`umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; `+
			`umount /sys/kernel/tracing 2>/dev/null; `+
			`test -e /sys/kernel/tracing/events && { echo tracefs still mounted >&2; exit 99; }; exec "$0" "$@"`,
		binary, "trace", "--ready-file", ready, "--pid", strconv.Itoa(os.Getpid())) // an idle process: no events
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // it may have exited already
	stderr := bufio.NewReader(errp)
	if line, err := stderr.ReadString('\n'); line != tracefsNote {
		t.Fatalf("first stderr line %q (%v), want %q", line, err, tracefsNote)
	}
	readStarted(t, stderr)
	if _, err := os.Stat(ready); err != nil {
		t.Fatalf("ready file: %v", err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest := new(strings.Builder)
	stderr.WriteTo(rest)
	if err := cmd.Wait(); err != nil || rest.String() != "nstrace: 0 events, 0 lost\n" {
		t.Errorf("exit %v, rest of stderr %q", err, rest.String())
	}
}
