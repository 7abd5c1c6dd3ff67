package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/session"
)

// These tests need no privileges: they replay files made here.

var start = time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)

var web = &event.Container{ID: "abcdef0123456789", Runtime: "runc", Name: "web"}

func replayEventsFixture() []event.Event {
	return []event.Event{
		{Time: start.Add(1 * time.Second), Kind: event.Unshare, Pid: 100, Tid: 100, Ppid: 1, Comm: "unshare", Flags: unix.CLONE_NEWNET | unix.CLONE_NEWUTS,
			Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 4026531833, To: 4026532500},
				{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532501}}},
		{Time: start.Add(2 * time.Second), Kind: event.Setns, Pid: 200, Tid: 201, Ppid: 1, Comm: "ip", Flags: unix.CLONE_NEWNET,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026531833, To: 4026532500, Name: "blue"}}},
		{Time: start.Add(3 * time.Second), Kind: event.Lost, Lost: 4},
		{Time: start.Add(4 * time.Second), Kind: event.Unshare, Pid: 300, Tid: 300, Ppid: 1, Comm: "evil\x1b[2J", UID: 65534,
			Flags: unix.CLONE_NEWUSER, Errno: syscall.EPERM},
		// As the live resolver records it: the new namespace is the container's.
		{Time: start.Add(5 * time.Second), Kind: event.Clone, Pid: 401, Tid: 401, Ppid: 400, Comm: "runc:[1:CHILD]", Flags: unix.CLONE_NEWPID,
			Container: web,
			Changes:   []event.Change{{Type: event.Pid, Action: event.Create, From: 4026531836, To: 4026532600, Container: web}}},
	}
}

// makeSession records evs as `trace -w` would and returns the file.
func makeSession(t *testing.T, name string, evs []event.Event) string {
	t.Helper()
	return writeSession(t, name, session.Options{Header: session.Header{Host: "elsewhere", Kernel: "6.18.0"},
		Now: func() time.Time { return start }}, evs)
}

// writeSession records evs to a new file name in a temporary directory,
// with opts, and returns its path.
func writeSession(t *testing.T, name string, opts session.Options, evs []event.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := session.Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// nstrace runs the binary and returns its stdout, stderr and exit status.
func nstrace(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

func liveJSON(evs []event.Event) string {
	var b []byte
	for i := range evs {
		b = evs[i].AppendJSON(b)
		b = append(b, '\n')
	}
	return string(b)
}

func liveText(evs []event.Event) string {
	b := []byte(render.TextHeader + "\n")
	for i := range evs {
		b = render.AppendText(b, &evs[i])
		b = append(b, '\n')
	}
	return string(b)
}

func TestReplayPrintsWhatLiveTracingPrinted(t *testing.T) {
	evs := replayEventsFixture()
	path := makeSession(t, "s.jsonl.zst", evs)
	// (Detection is off: alerts are tested in alerts_test.go.)
	if out, stderr, code := nstrace(t, nil, "replay", "--no-alerts", "-o", "json", path); code != 0 || out != liveJSON(evs) {
		t.Errorf("json: exit %d, stderr %s\n%s\nwant\n%s", code, stderr, out, liveJSON(evs))
	}
	out, stderr, code := nstrace(t, nil, "replay", "--no-alerts", path)
	if code != 0 || out != liveText(evs) {
		t.Errorf("text: exit %d\n%s\nwant\n%s", code, out, liveText(evs))
	}
	want := "nstrace: replaying a session recorded on elsewhere (Linux 6.18.0) at 2026-11-29 03:38:18 UTC\nnstrace: 4 events, 4 lost\n"
	if stderr != want {
		t.Errorf("stderr %q\nwant   %q", stderr, want)
	}
}

func TestReplayFilters(t *testing.T) {
	evs := replayEventsFixture()
	path := makeSession(t, "s.jsonl", evs)
	tests := []struct {
		name string
		args []string
		want []int // indexes into evs; -1 for evs[0] with only its uts change
	}{
		{"by pid", []string{"--pid", "200"}, []int{1, 2}},
		{"by the creator's pid for a new task", []string{"--pid", "400"}, []int{2, 4}},
		{"by comm glob", []string{"--comm", "runc*,ip"}, []int{1, 2, 4}},
		{"by type, trimming other changes", []string{"--type", "uts"}, []int{-1, 2}},
		{"by event", []string{"--event", "clone,setns"}, []int{1, 2, 4}},
		{"failed only", []string{"--failed"}, []int{2, 3}},
		{"by container name", []string{"--container", "web"}, []int{2, 4}},
		{"by namespace", []string{"--ns", "net:[4026532500]"}, []int{0, 1, 2}},
		{"since a duration after the start", []string{"--since", "3s"}, []int{2, 3, 4}},
		{"until a time of day", []string{"--until", "03:38:20"}, []int{0, 1}},
		{"between two times", []string{"--since", "2026-11-29T03:38:19.5Z", "--until", "2026-11-29T03:38:22.5Z"}, []int{1, 2, 3}},
		// The last event is 5s after the start: -1500ms is 3.5s, -2s 3s.
		{"since a duration back from the end", []string{"--since", "-1500ms"}, []int{3, 4}},
		{"until a duration back from the end", []string{"--until", "-2s"}, []int{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []event.Event
			for _, i := range tt.want {
				if i == -1 {
					e := *evs[0].Clone()
					e.Changes = e.Changes[1:]
					want = append(want, e)
					continue
				}
				want = append(want, evs[i])
			}
			out, stderr, code := nstrace(t, nil, append([]string{"replay", "--no-alerts", "-o", "json", path}, tt.args...)...)
			if code != 0 || out != liveJSON(want) {
				t.Errorf("exit %d %s\n%s\nwant\n%s", code, stderr, out, liveJSON(want))
			}
		})
	}
}

func TestReplayBadInputGetsOneLineAndStatus1(t *testing.T) {
	good, _ := os.ReadFile(makeSession(t, "s.jsonl", replayEventsFixture()))
	header := good[:bytes.IndexByte(good, '\n')+1]
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := filepath.Join(dir, "big")
	f, _ := os.Create(big)
	if _, err := f.Write(header); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // a 1 GB line of NULs, sparse
		t.Fatal(err)
	}
	f.Close()
	tests := []struct {
		name, path, want string
	}{
		{"empty", file("empty", nil), "line 1 (byte 0): empty: not an nstrace session"},
		{"random bytes", file("random", []byte("\x00\x01\xfe garbage\x1b[2J\n")), "line 1 (byte 0): not an nstrace session"},
		{"a truncated header", file("trunc", header[:40]), "line 1 (byte 0): truncated session header (40 bytes, no end of line)"},
		{"a future version", file("future", bytes.Replace(header, []byte(`"format":1`), []byte(`"format":2`), 1)),
			"line 1 (byte 0): session format 2 is newer than this nstrace reads (1): upgrade nstrace"},
		{"a 1 GB line", big, "line 2 (byte " + itoa(len(header)) + "): record line too long: over 1 MiB without a newline"},
		{"the wrong shape", file("shape", append(append([]byte{}, header...), `{"time":"2026-11-29T03:38:18Z","event":"setns","changes":{}}`+"\n"...)),
			"line 2 (byte " + itoa(len(header)) + `): field "changes": got a JSON object, want an array`},
		{"a directory", dir, "is a directory"},
		{"a FIFO", fifo, "is a named pipe, not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := nstrace(t, nil, "replay", tt.path)
			// The error is one line, the last; before it may come only the
			// line saying where the session was recorded.
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			want := "nstrace: replay " + tt.path + ": " + tt.want
			if code != 1 || !strings.HasPrefix(last, want) || len(lines) > 2 ||
				len(lines) == 2 && !strings.HasPrefix(lines[0], "nstrace: replaying a session recorded on ") {
				t.Errorf("exit %d, stderr:\n%s\nwant status 1 and one line: %s", code, stderr, want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestReplayOfATornFileWarnsOnceAndSucceeds(t *testing.T) {
	evs := replayEventsFixture()
	good, _ := os.ReadFile(makeSession(t, "s.jsonl", evs))
	lines := bytes.SplitAfter(good, []byte("\n"))
	torn := append(bytes.Join(lines[:3], nil), lines[3][:30]...) // header, two events, part of the loss marker
	path := filepath.Join(t.TempDir(), "torn.jsonl")
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", path)
	wantWarn := "nstrace: replay " + path + ": line 4 (byte " + itoa(len(bytes.Join(lines[:3], nil))) +
		"): warning: torn final record (30 bytes) ignored: the recording was cut short\n"
	if code != 0 || out != liveJSON(evs[:2]) || !strings.Contains(stderr, wantWarn) || strings.Count(stderr, "warning") != 1 {
		t.Errorf("exit %d\nstdout %s\nstderr %s\nwant the two whole events and %s", code, out, stderr, wantWarn)
	}
}

func TestReplayReadsRotatedFilesByGlobAndStdin(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "ns.jsonl")
	var evs []event.Event
	for i := range 400 {
		e := *replayEventsFixture()[1].Clone()
		e.Time, e.Pid = start.Add(time.Duration(i)*time.Millisecond), uint32(1000+i)
		evs = append(evs, e)
	}
	w, err := session.Create(base, session.Options{RotateSize: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if n := len(w.Files()); n < 4 {
		t.Fatalf("%d files", n)
	}
	out, stderr, code := nstrace(t, nil, "replay", "-o", "json", filepath.Join(dir, "ns.*.jsonl"))
	if code != 0 || out != liveJSON(evs) {
		t.Errorf("glob: exit %d, stderr %s, %d bytes of output", code, stderr, len(out))
	}
	data, _ := os.ReadFile(w.Files()[0])
	out, _, code = nstrace(t, data, "replay", "-o", "json", "-")
	if code != 0 || !strings.HasPrefix(liveJSON(evs), out) || out == "" {
		t.Errorf("stdin: exit %d, %d bytes", code, len(out))
	}
}
