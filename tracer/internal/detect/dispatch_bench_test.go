package detect

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

// trivialRules writes n rules `event == KIND && comm == "xI"`, spread over
// the event kinds.
func trivialRules(n int) string {
	kinds := []string{"clone", "unshare", "setns", "exec", "destroy"}
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: r%d\n    match: event == %q && comm == \"x%d\"\n", i, kinds[i%len(kinds)], i)
	}
	return b.String()
}

// BenchmarkDetect: setns churn (a thread going back and forth between two
// uts namespaces) against 10 000 trivial rules none of which matches it.
func BenchmarkDetect(b *testing.B) {
	rules, err := ParseRules("bench.yaml", []byte(trivialRules(10000)))
	if err != nil {
		b.Fatal(err)
	}
	d := New(rules, WithInventory(hostInventory()), WithoutFolding())
	evs := [2]*event.Event{
		{Kind: event.Setns, Pid: 7, Tid: 7, Comm: "churn", Flags: 0x04000000,
			Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026531838, To: 4026532900}}},
		{Kind: event.Setns, Pid: 7, Tid: 7, Comm: "churn", Flags: 0x04000000,
			Changes: []event.Change{{Type: event.UTS, Action: event.Join, From: 4026532900, To: 4026531838}}},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if a := d.Check(evs[i&1]); len(a) != 0 {
			b.Fatalf("churn raised %v", a[0].Rule)
		}
	}
}
