package seal_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

var t0 = time.Date(2026, 11, 29, 3, 38, 18, 123456789, time.UTC)

// clock steps a millisecond at every reading, so recordings are exact.
func clock() func() time.Time {
	now := t0
	return func() time.Time { now = now.Add(time.Millisecond); return now }
}

// events are n setns joins, each with its own pid and time.
func events(n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = event.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: event.Setns, Pid: uint32(7000 + i),
			Tid: uint32(7000 + i), Ppid: 1, Comm: "ip", Flags: unix.CLONE_NEWNET,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026531833, To: uint32(4026532300 + i)}}}
	}
	return evs
}

// newKey makes a key file and returns it with its verification key.
func newKey(t testing.TB) (string, seal.VerificationKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seal.key")
	vk, err := seal.CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, vk
}

// recording says how to record in tests.
type recording struct {
	name       string
	events     int
	rotateSize int64
	every      int
	flushEvery int // flush after this many events, as the recorder does when events pause
}

// record makes a sealed recording and returns its files and key.
func record(t *testing.T, rc recording) ([]string, seal.VerificationKey) {
	t.Helper()
	keyPath, vk := newKey(t)
	rk, err := seal.TakeRunKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	now := clock()
	opts := seal.Sealed(session.Options{Header: session.Header{Version: "test", Host: "host-a"}, RotateSize: rc.rotateSize, Now: now},
		seal.NewSealer(&rk, seal.Options{Every: rc.every, Now: now}))
	w, err := session.Create(filepath.Join(t.TempDir(), rc.name), opts)
	if err != nil {
		t.Fatal(err)
	}
	evs := events(rc.events)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
		if rc.flushEvery > 0 && (i+1)%rc.flushEvery == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Files(), vk
}

// verifiedAt is when tests verify: an hour after the recordings start.
var verifiedAt = t0.Add(time.Hour)

// verify checks paths at verifiedAt and fails the test when it cannot run.
func verify(t *testing.T, paths []string, key *seal.VerificationKey) *seal.Result {
	t.Helper()
	res, err := seal.VerifyFiles(paths, key, func() time.Time { return verifiedAt })
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// wantOnly asserts that verify found exactly the problems given as
// "FILE:LINE: PART: message" lines (FILE a base name).
func wantOnly(t *testing.T, res *seal.Result, want ...string) {
	t.Helper()
	var got []string
	for _, p := range res.Problems {
		got = append(got, brief(p))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.OK() {
		t.Error("OK() with problems")
	}
}

func brief(p seal.Problem) string {
	var b strings.Builder
	b.WriteString(filepath.Base(p.Pos.File))
	b.WriteString(":")
	b.WriteString(itoa(p.Pos.Line))
	b.WriteString(": part ")
	b.WriteString(itoa(p.Part))
	b.WriteString(": ")
	b.WriteString(strings.ReplaceAll(p.Msg, filepath.Dir(p.Pos.File)+"/", ""))
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// lines reads a plain file's lines.
func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))
}

func writeLines(t *testing.T, path string, ls [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(ls, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// recordLines lists the 1-based numbers of a part's event lines.
func recordLines(ls [][]byte) []int {
	var n []int
	for i, l := range ls {
		if bytes.HasPrefix(l, []byte(`{"time"`)) {
			n = append(n, i+1)
		}
	}
	return n
}
