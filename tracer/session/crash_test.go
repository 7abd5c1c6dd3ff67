package session_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/session"
)

// With NSTRACE_SESSION_RECORDER=PATH the test binary becomes a recorder that
// writes numbered events to PATH until it is killed.
func TestMain(m *testing.M) {
	if path := os.Getenv("NSTRACE_SESSION_RECORDER"); path != "" {
		if err := recordForever(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func recordForever(path string) error {
	w, err := session.Create(path, session.Options{Header: testHeader()})
	if err != nil {
		return err
	}
	ev := sampleEvents()[2]
	ready := false
	for i := uint32(1); ; i++ {
		ev.Pid, ev.Time = i, time.Now()
		if err := w.WriteEvent(&ev); err != nil {
			return err
		}
		if i%97 != 0 {
			continue
		}
		w.Flush() // as the tracer does when the ring runs dry
		// Ready once 10000 events are in the file: the kill that
		// follows finds the recorder writing on.
		if i >= 10000 && !ready {
			fmt.Println("ready")
			ready = true
		}
	}
}

func TestKill9KeepsEveryCompleteRecord(t *testing.T) {
	for _, name := range []string{"crash.jsonl", "crash.jsonl.gz", "crash.jsonl.zst"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "NSTRACE_SESSION_RECORDER="+path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
				_ = cmd.Process.Kill() // best effort: the test fails just below
				t.Fatalf("recorder: %q %v", line, err)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait() // reaps only: its error is the SIGKILL just sent

			got, r := readAll(t, path)
			if len(got) < 10000 {
				t.Fatalf("recovered %d events, the recorder had flushed at least 10000", len(got))
			}
			for i := range got {
				if got[i].Pid != uint32(i+1) {
					t.Fatalf("event %d has pid %d: records lost or reordered", i, got[i].Pid)
				}
			}
			if !strings.HasSuffix(name, ".jsonl") {
				return
			}
			data, _ := os.ReadFile(path)
			if complete := bytes.Count(data, []byte("\n")) - 1; len(got) != complete {
				t.Errorf("recovered %d events of %d complete lines", len(got), complete)
			}
			if w := r.Warnings(); len(w) != 1 {
				t.Errorf("warnings = %v, want exactly one", w)
			} else {
				t.Logf("warning: %s", w[0])
			}
		})
	}
}
