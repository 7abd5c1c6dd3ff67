package event_test

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// An event's JSON form is one line of `nstrace trace -o json` and of a
// session file.
func ExampleEvent_AppendJSON() {
	ev := event.Event{
		Time: time.Date(2026, 11, 29, 23, 5, 14, 626709000, time.UTC),
		Kind: event.Unshare, Pid: 6721, Tid: 6721, Ppid: 6443, UID: 0, Comm: "ip",
		Flags: syscall.CLONE_NEWNET,
		Changes: []event.Change{{
			Type: event.Net, Action: event.Create,
			From: 4026531840, To: 4026532177, Name: "handdemo",
		}},
	}
	fmt.Printf("%s\n", ev.AppendJSON(nil))
	// Output:
	// {"time":"2026-11-29T23:05:14.626709000Z","event":"unshare","pid":6721,"tid":6721,"ppid":6443,"comm":"ip","uid":0,"flags":["CLONE_NEWNET"],"changes":[{"type":"net","action":"create","from":4026531840,"to":4026532177,"name":"handdemo"}]}
}

// UnmarshalJSON reads back what AppendJSON writes; a failed attempt
// carries its errno and, for setns, the namespace it aimed at.
func ExampleEvent_UnmarshalJSON() {
	line := `{"time":"2026-11-29T23:05:14.706081000Z","event":"setns","pid":6740,"tid":6740,"ppid":6443,"comm":"nsenter","uid":65534,` +
		`"flags":["CLONE_NEWNET"],"error":"EPERM","target":{"type":"net","inode":4026531840},"changes":[]}`
	var ev event.Event
	if err := ev.UnmarshalJSON([]byte(line)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Kind, ev.Comm, ev.UID, ev.Failed(), event.ErrnoName(ev.Errno))
	fmt.Println(ev.Target.Type, ev.Target.Inode)
	// Output:
	// setns nsenter 65534 true EPERM
	// net 4026531840
}

// The enumerations print as the JSON form spells them and parse back.
func ExampleParseNsType() {
	var names []string
	for t := range event.NsType(event.NumNsTypes) {
		names = append(names, t.String())
	}
	fmt.Println(strings.Join(names, " "))
	t, ok := event.ParseNsType("pid_for_children")
	fmt.Println(t == event.PidForChildren, ok)
	// Output:
	// cgroup ipc mnt net pid pid_for_children time time_for_children user uts
	// true true
}
