package report

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
)

// Every value of an event row and of a change sits where meta.columns says,
// which is all the page knows of the layout.
func TestTheDataNamesTheColumnOfEveryValue(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	b := NewBuilder(Options{})
	for _, e := range []*event.Event{
		{Time: at, Kind: event.Unshare, Pid: 10, Tid: 11, Ppid: 1, UID: 1000, Comm: "unshare", Flags: unix.CLONE_NEWNET,
			Changes: []event.Change{{Type: event.Net, Action: event.Create, From: 4026531833, To: 4026532200, NsID: 7}}},
		{Time: at.Add(time.Millisecond), Kind: event.Setns, Pid: 12, Tid: 12, Ppid: 2, Comm: "nsenter", Errno: syscall.EPERM,
			Flags: unix.CLONE_NEWNET, Target: &event.Target{Type: event.Net, Inode: 4026532200}},
		{Time: at.Add(2 * time.Millisecond), Kind: event.Lost, Lost: 5},
	} {
		if err := b.WriteEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	r := b.Report()
	data, err := r.appendData(nil)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Meta struct {
			Strings []string `json:"strings"`
			Kinds   []string `json:"kinds"`
			Actions []string `json:"actions"`
			Types   []string `json:"types"`
			Columns struct {
				Event, Change []string
			} `json:"columns"`
		} `json:"meta"`
		Events [][]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		t.Fatal(err)
	}
	index := func(names []string) map[string]int {
		m := map[string]int{}
		for i, n := range names {
			m[n] = i
		}
		return m
	}
	col, chCol := index(page.Meta.Columns.Event), index(page.Meta.Columns.Change)
	if len(col) != len(eventColumns) || len(chCol) != len(changeColumns) {
		t.Fatalf("columns %v %v: a name twice", page.Meta.Columns.Event, page.Meta.Columns.Change)
	}
	if len(page.Events) != 3 {
		t.Fatalf("%d event rows, want 3", len(page.Events))
	}
	get := func(row []json.RawMessage, name string) string {
		t.Helper()
		i, ok := col[name]
		if !ok {
			t.Fatalf("no column %q", name)
		}
		return string(row[i])
	}
	str := func(row []json.RawMessage, name string) string {
		var i int
		if err := json.Unmarshal([]byte(get(row, name)), &i); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return page.Meta.Strings[i]
	}
	for _, row := range page.Events {
		if len(row) != len(eventColumns) {
			t.Fatalf("row %s has %d values, columns name %d", row, len(row), len(eventColumns))
		}
	}
	create, failed, lost := page.Events[0], page.Events[1], page.Events[2]
	for _, c := range []struct{ got, want string }{
		{get(create, "dt"), "0"}, {get(failed, "dt"), "1000000"},
		{page.Meta.Kinds[atoi(t, get(create, "kind"))], "unshare"}, {page.Meta.Kinds[atoi(t, get(lost, "kind"))], "lost"},
		{get(create, "pid"), "10"}, {get(create, "tid"), "11"}, {get(create, "ppid"), "1"}, {get(create, "uid"), "1000"},
		{str(create, "comm"), "unshare"}, {str(failed, "error"), "EPERM"}, {str(failed, "flags"), "CLONE_NEWNET"},
		{str(create, "error"), ""}, {get(create, "container"), "-1"}, {get(create, "lane"), "-1"},
		{get(failed, "target"), "[3,4026532200]"}, {get(create, "target"), "0"}, {get(lost, "lost"), "5"},
		{get(failed, "changes"), "[]"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
	if l := atoi(t, get(failed, "lane")); l < 0 || r.Lanes[l].Inode != 4026532200 {
		t.Errorf("the failed setns's lane %d is not the namespace it aimed at", l)
	}
	var ch []json.RawMessage
	if err := json.Unmarshal([]byte(get(create, "changes")), &ch); err != nil || len(ch) != len(changeColumns) {
		t.Fatalf("one change as %d values (%v), columns name %d", len(ch), err, len(changeColumns))
	}
	chGet := func(name string) string { return string(ch[chCol[name]]) }
	if typ, act := page.Meta.Types[atoi(t, chGet("type"))], page.Meta.Actions[atoi(t, chGet("action"))]; typ != "net" || act != "create" {
		t.Errorf("change type %s action %s, want net create", typ, act)
	}
	if chGet("from") != "4026531833" || chGet("to") != "4026532200" || chGet("ns_id") != "7" {
		t.Errorf("change from %s to %s ns_id %s", chGet("from"), chGet("to"), chGet("ns_id"))
	}
	if l := atoi(t, chGet("lane")); l < 0 || r.Lanes[l].Inode != 4026532200 {
		t.Errorf("change lane %d is not the created namespace's", l)
	}
	if l := atoi(t, chGet("from_lane")); l >= 0 && r.Lanes[l].Inode != 4026531833 {
		t.Errorf("change from_lane %d is not the namespace left", l)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var i int
	if err := json.Unmarshal([]byte(s), &i); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return i
}
