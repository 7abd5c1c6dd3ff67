package render

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

// Every text form names the executable when the comm does not (a renamed
// binary, busybox, a memfd) or it is not installed (a copy in /tmp),
// sanitized, on the event's one line; never when the comm is an installed
// executable's name, cut to 15 bytes as the kernel cuts it.
func TestTextShowsTheExecutableWhenTheCommDoesNot(t *testing.T) {
	ev := func(comm, exe string) *event.Event {
		return &event.Event{Time: t0, Kind: event.Setns, Pid: 8, Tid: 8, Ppid: 1, Comm: comm, Flags: syscall.CLONE_NEWNET,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026531833, To: 4026532178}},
			Process: &event.Process{Exe: exe}}
	}
	for _, c := range []struct {
		ev   *event.Event
		want string // "" for no exe= at all
	}{
		{ev("nsenter", "/bin/busybox"), " exe=/bin/busybox"},
		{ev("nsenter", "/usr/bin/nsenter"), ""},
		{ev("nsenter", "/tmp/nsenter"), " exe=/tmp/nsenter"},
		{ev("containerd-shim", "/usr/bin/containerd-shim-runc-v2"), ""},
		{ev("x", "/tmp/\x1b[2Jx"), ` exe=/tmp/\x1b[2Jx`},
		{ev("sh", ""), ""},
	} {
		for _, opts := range []TextOptions{{Format: Compact}, {Format: Wide}} {
			var buf bytes.Buffer
			w := NewTextWith(&buf, opts)
			if err := w.Event(c.ev); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			line := buf.String()
			if strings.Count(line, "\n") != 1 || strings.ContainsRune(line, 0x1b) {
				t.Errorf("%q: not one sanitized line", line)
			}
			if got := strings.Contains(line, " exe="); got != (c.want != "") || c.want != "" && !strings.HasSuffix(line, c.want+"\n") {
				t.Errorf("comm %q exe %q: %q, want it to end %q", c.ev.Comm, c.ev.Process.Exe, line, c.want)
			}
		}
	}
}
