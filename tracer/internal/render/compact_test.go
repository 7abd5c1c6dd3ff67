package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nstrace/nstrace/tracer/event"
)

func linesOf(t *testing.T, opts TextOptions, evs ...*event.Event) []string {
	t.Helper()
	var buf bytes.Buffer
	w := NewTextWith(&buf, opts)
	for _, ev := range evs {
		if err := w.Event(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// bwrap is a clone into seven new namespaces, named and in a container:
// the kind of line that ran to 253 columns.
func bwrap() *event.Event {
	ctr := &event.Container{ID: "4f2a9c0d1e2f3a4b5c6d7e8f90a1b2c3", Runtime: "oci", Name: "payments-api-7d9f8c6b5-x2x9k"}
	ev := &event.Event{Time: t0, Kind: event.Clone, Pid: 41234, Tid: 41234, Ppid: 41233, Comm: "bwrap", Container: ctr}
	for i, ty := range []event.NsType{event.User, event.Mnt, event.Net, event.Pid, event.UTS, event.IPC, event.Cgroup} {
		c := event.Change{Type: ty, Action: event.Create, From: 4026531830 + uint32(i), To: 4026532400 + uint32(i), NsID: 900 + uint64(i)}
		if ty == event.Net {
			c.Name = "sandbox-network-for-a-long-running-build"
		}
		ev.Changes = append(ev.Changes, c)
	}
	return ev
}

func TestCompactLinesAreWholeWhenPiped(t *testing.T) {
	checkLines(t, linesOf(t, TextOptions{}, sampleEvents()...), []string{
		`03:38:18.123    6027 unshare         unshare net+ 4026532178 "sample1" uts+ 4026532177`,
		`03:38:18.123       7 ip              setns   net→ 4026531833 (host)`,
		`03:38:18.123       8 x               setns   ✗ EPERM CLONE_NEWNET → net 4026531833`,
		`03:38:18.123      12 runc:[2:INIT]   clone   pid→ 4026532300 ctr 3f2a9c0d1e2f…`,
		`03:38:18.123  LOST 17 records dropped by the kernel (ring buffer full)`,
	})
}

func TestCompactLinesFitTheTerminal(t *testing.T) {
	for _, width := range []int{80, 100, 120} {
		for _, l := range linesOf(t, TextOptions{Width: width}, append(sampleEvents(), bwrap())...) {
			if n := utf8.RuneCountInString(l); n > width {
				t.Errorf("%d columns at width %d: %s", n, width, l)
			}
		}
	}
	checkLines(t, linesOf(t, TextOptions{Width: 80}, sampleEvents()[2]), []string{
		`03:38:18.123       8 x               setns   ✗ EPERM → net 4026531833`,
	})
	checkLines(t, linesOf(t, TextOptions{Width: 80}, bwrap()), []string{
		`03:38:18.123   41234 bwrap           clone   +7 more in ctr payments-ap…`,
	})
	checkLines(t, linesOf(t, TextOptions{Width: 120}, bwrap()), []string{
		`03:38:18.123   41234 bwrap           clone   user+ 4026532400 mnt+ 4026532401 +5 more in ctr payments-ap…`,
	})
}

func TestWideLinesSayEverything(t *testing.T) {
	checkLines(t, linesOf(t, TextOptions{Format: Wide, Width: 80}, bwrap()), []string{
		`03:38:18.123456   41234   41233     0 bwrap            clone   user+ 4026532400 from 4026531830 ns_id 900 ` +
			`mnt+ 4026532401 from 4026531831 ns_id 901 net+ 4026532402 "sandbox-network-for-a-long-running-build" from 4026531832 ns_id 902 ` +
			`pid+ 4026532403 from 4026531833 ns_id 903 uts+ 4026532404 from 4026531834 ns_id 904 ipc+ 4026532405 from 4026531835 ns_id 905 ` +
			`cgroup+ 4026532406 from 4026531836 ns_id 906 in oci 4f2a9c0d1e2f3a4b5c6d7e8f90a1b2c3 "payments-api-7d9f8c6b5-x2x9k"`,
	})
}

func TestAReusedInodeIsMarkedWithItsNewIdentity(t *testing.T) {
	mk := func(ty event.NsType, a event.Action, nsid uint64) *event.Event {
		return &event.Event{Time: t0, Kind: event.Unshare, Pid: 5, Tid: 5, Comm: "ip",
			Changes: []event.Change{{Type: ty, Action: a, To: 4026532248, NsID: nsid}}}
	}
	destroy := mk(event.Mnt, event.ActionDestroy, 0)
	destroy.Kind = event.Destroy
	checkLines(t, linesOf(t, TextOptions{},
		mk(event.Mnt, event.Create, 40),  // first seen: no mark
		mk(event.Mnt, event.Join, 40),    // the same namespace again
		mk(event.User, event.Create, 41), // another type on the inode
		mk(event.Mnt, event.Create, 42),  // and back
		mk(event.Mnt, event.Join, 42),    // marked from then on
	), []string{
		`03:38:18.123       5 ip              unshare mnt+ 4026532248`,
		`03:38:18.123       5 ip              unshare mnt→ 4026532248`,
		`03:38:18.123       5 ip              unshare user+ 4026532248#41`,
		`03:38:18.123       5 ip              unshare mnt+ 4026532248#42`,
		`03:38:18.123       5 ip              unshare mnt→ 4026532248#42`,
	})
	checkLines(t, linesOf(t, TextOptions{},
		mk(event.Net, event.Create, 0), destroy, mk(event.Mnt, event.Create, 0),
	), []string{
		`03:38:18.123       5 ip              unshare net+ 4026532248`,
		`03:38:18.123       5 ip              destroy mnt- 4026532248#new`,
		`03:38:18.123       5 ip              unshare mnt+ 4026532248#new`,
	})
}

func TestCompactLinesNeverCarryControlCharacters(t *testing.T) {
	ev := bwrap()
	ev.Comm = "evil\x1b[2J"
	ev.Changes[2].Name = "n\x07ame\nnext"
	ev.Container.Name = "ctr\x1b]0;pwned\x07"
	for _, opts := range []TextOptions{{}, {Width: 80}, {Format: Wide}} {
		for _, l := range linesOf(t, opts, ev) {
			for _, r := range l {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Errorf("control character %U in %q", r, l)
				}
			}
		}
	}
}
