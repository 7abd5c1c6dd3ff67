package testenv

import (
	"bufio"
	"io"
	"os/exec"
	"testing"
)

// StartPiped starts cmd with a pipe to its stdin and one from its stdout,
// for a held process that reports on stdout and ends at the end of its
// stdin. The test's cleanup closes the stdin and reaps cmd (only reaps, if
// the test already ended it).
func StartPiped(t testing.TB, cmd *exec.Cmd) (io.WriteCloser, *bufio.Reader) {
	t.Helper()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	return in, bufio.NewReader(out)
}
