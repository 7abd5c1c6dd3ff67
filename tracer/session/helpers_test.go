package session_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/session"
)

var t0 = time.Date(2026, 11, 29, 3, 38, 18, 123456789, time.UTC)

// sampleEvents covers every shape an event takes: kinds, failures, targets,
// resolved names and containers, hostile comms, loss markers.
func sampleEvents() []event.Event {
	ctr := &event.Container{ID: "0123456789abcdef0123", Runtime: "runc", Name: "web"}
	return []event.Event{
		{Time: t0, Kind: event.Unshare, Pid: 6027, Tid: 6027, Ppid: 6026, Comm: "unshare", Flags: unix.CLONE_NEWNET | unix.CLONE_NEWUTS,
			Changes: []event.Change{
				{Type: event.Net, Action: event.Create, From: 4026531833, To: 4026532178, NsID: 77},
				{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532177}}},
		{Time: t0.Add(time.Millisecond), Kind: event.Clone, Pid: 6030, Tid: 6031, Ppid: 6027, Comm: "runc:[2:INIT]", UID: 0, CgroupID: 9999,
			Flags: unix.CLONE_NEWPID | unix.CLONE_NEWNS, Container: ctr,
			Changes: []event.Change{
				{Type: event.Pid, Action: event.Create, From: 4026531836, To: 4026532200, Container: ctr},
				{Type: event.Mnt, Action: event.Create, From: 4026531841, To: 4026532199, Owner: 4026531837}}},
		{Time: t0.Add(2 * time.Millisecond), Kind: event.Setns, Pid: 7000, Tid: 7000, Ppid: 1, Comm: "ip", Flags: unix.CLONE_NEWNET,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026531833, To: 4026532300, Name: "blue", Host: false}}},
		{Time: t0.Add(3 * time.Millisecond), Kind: event.Setns, Pid: 7001, Tid: 7001, Ppid: 1, Comm: "nsenter", Flags: 0, UID: 65534,
			Errno: syscall.EPERM, Target: &event.Target{Type: event.Net, Inode: 4026532300}},
		{Time: t0.Add(4 * time.Millisecond), Kind: event.Lost, Lost: 17},
		{Time: t0.Add(5 * time.Millisecond), Kind: event.Unshare, Pid: 7002, Tid: 7002, Ppid: 1, Comm: "evil\x1b[2J\n\"q\"", UID: 1000,
			Flags: unix.CLONE_NEWUSER, Errno: syscall.EPERM},
		{Time: t0.Add(6 * time.Millisecond), Kind: event.Exec, Pid: 7003, Tid: 7003, Ppid: 7002, Comm: "sh",
			Changes: []event.Change{{Type: event.Time, Action: event.Join, From: 4026531834, To: 4026532400}}},
		{Time: t0.Add(7 * time.Millisecond), Kind: event.Setns, Pid: 7004, Tid: 7004, Ppid: 1, Comm: "ns—ünïcode", Flags: unix.CLONE_NEWNET,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026532300, To: 4026531833, Host: true}}},
		{Time: t0.Add(8 * time.Millisecond), Kind: event.Clone, Pid: 7005, Tid: 7005, Ppid: 7004, Comm: "bwrap",
			Flags: unix.CLONE_NEWUSER | unix.CLONE_NEWPID, Errno: syscall.EINVAL},
	}
}

func fixedClock() func() time.Time {
	now := t0.Add(-time.Second)
	return func() time.Time { now = now.Add(time.Millisecond); return now }
}

func testHeader() session.Header {
	h := session.Header{Version: "test", Host: "host-a", Kernel: "6.18.0-test", BootID: "b00t",
		Hooks:  []session.Hook{{Name: "tracepoint/syscalls/sys_enter_unshare", Required: true, Attached: true}, {Name: "tracepoint/syscalls/sys_enter_clone3", Attached: false, Error: "no such file"}},
		Filter: "--type net"}
	h.Inventory = []byte(`{"namespaces":[{"type":"net","inode":4026532300,"names":["blue"]}]}`)
	return h
}

// record writes events to a new session file and returns its path.
func record(t *testing.T, name string, events []event.Event, opts session.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if opts.Now == nil {
		opts.Now = fixedClock()
	}
	if opts.Header.Host == "" {
		opts.Header = testHeader()
	}
	w, err := session.Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		if err := w.WriteEvent(&events[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll reads every event of paths; it fails the test on an error.
func readAll(t *testing.T, paths ...string) ([]event.Event, *session.Reader) {
	t.Helper()
	evs, r, err := tryReadAll(paths...)
	if err != nil {
		t.Fatalf("read %v: %v", paths, err)
	}
	return evs, r
}

func tryReadAll(paths ...string) ([]event.Event, *session.Reader, error) {
	r, err := session.Open(paths...)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	evs, err := drain(r)
	return evs, r, err
}

// drain reads r to its end (nil error) or its first error.
func drain(r *session.Reader) ([]event.Event, error) {
	var evs []event.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, *ev.Clone())
	}
}

// jsonLines renders events as -o json does.
func jsonLines(evs []event.Event) string {
	var b []byte
	for i := range evs {
		b = evs[i].AppendJSON(b)
		b = append(b, '\n')
	}
	return string(b)
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
