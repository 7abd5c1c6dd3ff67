package tracer

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// vforkHold runs the vfork-hold test helper: callers threads, each in a
// vfork whose child waits for the end of stdin.
type vforkHold struct {
	cmd  *exec.Cmd
	hold io.WriteCloser
	out  *bufio.Reader
}

// startVforkHold starts the helper. It makes no call before a line on its
// stdin (go), so a tracer can be opened for its pid alone first.
func startVforkHold(t *testing.T, callers int) *vforkHold {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NSTRACE_TEST_HELPER=vfork-hold", "NSTRACE_HOLD_CALLERS="+strconv.Itoa(callers))
	cmd.Stderr = os.Stderr
	hold, out := testenv.StartPiped(t, cmd)
	return &vforkHold{cmd: cmd, hold: hold, out: out}
}

func (h *vforkHold) pid() uint32 { return uint32(h.cmd.Process.Pid) }

// start starts the calls and returns once all of them are held: each vfork
// child writes one byte once it runs, while its parent thread is still
// inside clone, so every entry hook has run by then.
func (h *vforkHold) start(t *testing.T, callers int) {
	t.Helper()
	if _, err := io.WriteString(h.hold, "go\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(h.out, make([]byte, callers)); err != nil {
		t.Fatalf("wait for the held clones: %v", err)
	}
}

// release ends stdin: the children read EOF and exit, their parents'
// clones return, and the helper exits.
func (h *vforkHold) release(t *testing.T) {
	t.Helper()
	h.hold.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
}
