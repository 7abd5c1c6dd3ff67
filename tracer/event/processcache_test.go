package event

import (
	"fmt"
	"testing"
)

// An encoder that remembers processes writes every event exactly as one
// that formats each afresh: the same process with other credentials, more
// processes than it remembers taking turns, and equal processes that are
// different values.
func TestRememberedProcessesWriteTheSameJSON(t *testing.T) {
	var procs []*Process
	for i := range processSlots + 3 {
		procs = append(procs, &Process{Exe: fmt.Sprintf("/usr/bin/tool%d", i), Args: []string{"tool", fmt.Sprint(i), "\"quoted\"\n"},
			Ancestors: []Ancestor{{Pid: uint32(4000 + i), Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 1, Comm: "systemd"}}})
	}
	twin := *procs[0] // equal to procs[0], another value
	procs = append(procs, &twin, nil)
	var evs []Event
	for round := range 3 {
		for i, p := range procs {
			// Each process twice in a row, then once more with each of
			// the other credentials.
			for _, creds := range []int{round, round, round + 1, round + 2, round + 3, round + 4} {
				ev := Event{Kind: Setns, Pid: 10, Tid: 10, Comm: "x", Process: p,
					Changes: []Change{{Type: UTS, Action: Join, From: 4026532200, To: 4026531838}}}
				switch (creds + i) % 5 {
				case 1:
					ev.HasCreds, ev.Auid, ev.Caps = true, NoAuid, 1<<21|1<<12
				case 2:
					ev.HasCreds, ev.Auid, ev.Caps = true, NoAuid, 1<<21
				case 3:
					ev.HasCreds, ev.Auid, ev.Caps = true, 1000, 1<<21
				case 4:
					ev.HasCreds = true // login uid 0, no capabilities
				}
				evs = append(evs, ev)
			}
		}
	}
	evs = append(evs, fullEvents()...)
	var nums Numbers
	for i := range evs {
		got := string(evs[i].AppendJSONWith(nil, &nums))
		if want := string(evs[i].AppendJSON(nil)); got != want {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
