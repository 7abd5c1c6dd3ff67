package render

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/encode"
)

var t0 = time.Date(2026, 11, 29, 3, 38, 18, 123456789, time.UTC)

func sampleEvents() []*event.Event {
	return []*event.Event{
		{Time: t0, Kind: event.Unshare, Pid: 6027, Tid: 6027, Ppid: 6026, Comm: "unshare",
			Flags: syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS,
			Changes: []event.Change{
				{Type: event.Net, Action: event.Create, From: 4026531833, To: 4026532178, Name: "sample1"},
				{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532177},
			}},
		{Time: t0, Kind: event.Setns, Pid: 7, Tid: 9, Ppid: 1, Comm: "ip", Flags: syscall.CLONE_NEWNET,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026532178, To: 4026531833, Host: true}}},
		{Time: t0, Kind: event.Setns, Pid: 8, Tid: 8, Ppid: 1, Comm: "x", UID: 65534, Flags: syscall.CLONE_NEWNET,
			Errno: syscall.EPERM, Target: &event.Target{Type: event.Net, Inode: 4026531833}},
		{Time: t0, Kind: event.Clone, Pid: 12, Tid: 12, Ppid: 11, Comm: "runc:[2:INIT]",
			Changes: []event.Change{{Type: event.Pid, Action: event.Join, From: 4026531836, To: 4026532300,
				Container: &event.Container{ID: "3f2a9c0d1e2f3a4b5c6d7e8f", Runtime: "oci"}}}},
		{Time: t0, Kind: event.Lost, Lost: 17},
	}
}

func TestTextLinesAreAlignedAndReadable(t *testing.T) {
	var buf bytes.Buffer
	w := NewText(&buf)
	for _, ev := range sampleEvents() {
		if err := w.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	want := strings.Join([]string{
		`03:38:18.123456    6027    6026 unshare          unshare net+ 4026532178 "sample1" uts+ 4026532177`,
		`03:38:18.123456       7       1 ip               setns   tid=9 net→ 4026531833 (host)`,
		`03:38:18.123456       8       1 x                setns   ✗ EPERM CLONE_NEWNET → net 4026531833`,
		`03:38:18.123456      12      11 runc:[2:INIT]    clone   pid→ 4026532300 ctr 3f2a9c0d1e2f…`,
		`03:38:18.123456  LOST 17 records dropped by the kernel (ring buffer full)`,
	}, "\n") + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestJSONFollowsTheSchema(t *testing.T) {
	var buf bytes.Buffer
	w := NewJSON(&buf)
	for _, ev := range sampleEvents() {
		if err := w.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	want := strings.Join([]string{
		`{"time":"2026-11-29T03:38:18.123456789Z","event":"unshare","pid":6027,"tid":6027,"ppid":6026,"comm":"unshare","uid":0,"flags":["CLONE_NEWNET","CLONE_NEWUTS"],"changes":[{"type":"net","action":"create","from":4026531833,"to":4026532178,"name":"sample1"},{"type":"uts","action":"create","from":4026531838,"to":4026532177}]}`,
		`{"time":"2026-11-29T03:38:18.123456789Z","event":"setns","pid":7,"tid":9,"ppid":1,"comm":"ip","uid":0,"flags":["CLONE_NEWNET"],"changes":[{"type":"net","action":"join","from":4026532178,"to":4026531833,"host":true}]}`,
		`{"time":"2026-11-29T03:38:18.123456789Z","event":"setns","pid":8,"tid":8,"ppid":1,"comm":"x","uid":65534,"flags":["CLONE_NEWNET"],"error":"EPERM","target":{"type":"net","inode":4026531833}}`,
		`{"time":"2026-11-29T03:38:18.123456789Z","event":"clone","pid":12,"tid":12,"ppid":11,"comm":"runc:[2:INIT]","uid":0,"flags":[],"changes":[{"type":"pid","action":"join","from":4026531836,"to":4026532300,"container":{"id":"3f2a9c0d1e2f3a4b5c6d7e8f","runtime":"oci"}}]}`,
		`{"time":"2026-11-29T03:38:18.123456789Z","event":"lost","count":17}`,
	}, "\n") + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	// And it decodes back to the same events.
	for i, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var ev event.Event
		if err := ev.UnmarshalJSON([]byte(line)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if again := string(ev.AppendJSON(nil)); again != line {
			t.Errorf("line %d round trip:\n%s\n%s", i+1, again, line)
		}
	}
}

func TestHostileTextNeverReachesTheTerminalRaw(t *testing.T) {
	cases := []struct{ in, text, json string }{
		{"\x1b[2J\x1b]0;pwned\a", `\x1b[2J\x1b]0;pwned\x07`, `"\u001b[2J\u001b]0;pwned\u0007"`},
		{"a\nb\tc\rd", `a\nb\tc\rd`, `"a\nb\tc\rd"`},
		{"back\\slash\"q", `back\\slash"q`, `"back\\slash\"q"`},
		{"bad\xffutf8", `bad\xffutf8`, `"bad\ufffdutf8"`},
		{"\u202eevil\u0085\x7f", `\u202eevil\u0085\x7f`, `"\u202eevil\u0085\u007f"`},
		{"\U000e0001", `\U000e0001`, `"` + "\U000e0001" + `"`},
		{"naïve", "naïve", `"naïve"`},
	}
	for _, c := range cases {
		if got := Sanitize(c.in); got != c.text {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.text)
		}
		if got := string(encode.AppendJSONString(nil, c.in)); got != c.json {
			t.Errorf("AppendJSONString(%q) = %s, want %s", c.in, got, c.json)
		}
	}
	ev := &event.Event{Time: t0, Kind: event.Unshare, Comm: "\x1b[31mred", Changes: []event.Change{{Type: event.Net, Action: event.Create, To: 1, Name: "\x1b]0;x\a"}}}
	line := AppendText(nil, ev)
	if want := `net+ 1 "\x1b]0;x\x07"`; !bytes.Contains(line, []byte(want)) {
		t.Errorf("line %q lacks %q", line, want)
	}
	fake := &event.Event{Time: t0, Kind: event.Setns, Changes: []event.Change{{Type: event.Net, Action: event.Join, To: 1, Name: `x" (host) "y`}}}
	if got, want := string(AppendText(nil, fake)), `net→ 1 "x\" (host) \"y"`; !strings.HasSuffix(got, want) {
		t.Errorf("a quote in a name must not close the label: %q, want suffix %q", got, want)
	}
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			t.Fatalf("control byte %#x in text line %q", c, line)
		}
	}
}

// The hot path: rendering an event into a reused buffer allocates nothing.
func BenchmarkRender(b *testing.B) {
	ev := sampleEvents()[0]
	for _, r := range []struct {
		name string
		w    interface{ Event(*event.Event) error }
	}{{"json", NewJSON(discard{})}, {"text", NewText(discard{})},
		{"compact", NewTextWith(discard{}, TextOptions{Width: 80})}, {"wide", NewTextWith(discard{}, TextOptions{Format: Wide})}} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := r.w.Event(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestLossMarkersSayWhy(t *testing.T) {
	for _, c := range []struct {
		ev   event.Event
		want string
	}{
		{event.Event{Time: t0, Kind: event.Lost, Lost: 17}, `03:38:18.123456  LOST 17 records dropped by the kernel (ring buffer full)`},
		{event.Event{Time: t0, Kind: event.Lost, Lost: 5, Cause: event.LostShutdown}, `03:38:18.123456  LOST 5 records unread when the drain at shutdown timed out (--drain-timeout)`},
		{event.Event{Time: t0, Kind: event.Lost, Lost: 2, Cause: "odd\x1b"}, `03:38:18.123456  LOST 2 records lost: odd\x1b`},
	} {
		if got := string(AppendText(nil, &c.ev)); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
