package detect

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestClassifyReadsWhatAnEventMustBe(t *testing.T) {
	k := func(ks ...event.Kind) uint16 {
		var m uint16
		for _, x := range ks {
			m |= kindBit(x)
		}
		return m
	}
	ty := func(ts ...event.NsType) uint16 {
		var m uint16
		for _, x := range ts {
			m |= typeBit(x)
		}
		return m
	}
	cases := []struct {
		expr string
		want need
	}{
		{`true`, anything},
		{`uid == 0`, anything},
		{`event == "setns"`, need{kinds: k(event.Setns), types: allTypes}},
		{`"setns" == event`, need{kinds: k(event.Setns), types: allTypes}},
		{`event != "setns"`, need{kinds: allKinds &^ k(event.Setns), types: allTypes}},
		{`event in ["clone", "unshare"]`, need{kinds: k(event.Clone, event.Unshare), types: allTypes}},
		{`!(event in ["clone", "unshare"])`, need{kinds: allKinds &^ k(event.Clone, event.Unshare), types: allTypes}},
		{`event == "setns" || event == "clone"`, need{kinds: k(event.Setns, event.Clone), types: allTypes}},
		{`event == "setns" && uid == 0 || comm == "x"`, anything},
		{`!(event == "setns" && uid == 0)`, anything},
		{`!(event != "setns" || uid == 0)`, need{kinds: k(event.Setns), types: allTypes}},
		{`event == "setns" ? uid == 0 : event == "clone"`, need{kinds: k(event.Setns, event.Clone), types: allTypes}},
		{`comm == "sh"`, need{kinds: allKinds, comms: []string{"sh"}, types: allTypes}},
		{`comm in ["sh", "bash", "sh"] && event == "setns"`, need{kinds: k(event.Setns), comms: []string{"bash", "sh"}, types: allTypes}},
		{`comm in ["sh", "bash"] && comm in ["zsh", "sh"]`, need{kinds: allKinds, comms: []string{"sh"}, types: allTypes}},
		{`comm == "sh" || comm == "ash"`, need{kinds: allKinds, comms: []string{"ash", "sh"}, types: allTypes}},
		{`comm == "sh" || uid == 0`, anything},
		{`comm != "sh"`, anything},
		{`!(comm == "sh")`, anything},
		{`changes.exists(c, c.type == "net")`, need{kinds: allKinds, types: ty(event.Net)}},
		{`changes.exists(c, "net" == c.type && c.action == "join")`, need{kinds: allKinds, types: ty(event.Net)}},
		{`changes.exists(c, c.type in ["net", "mnt"] || c.type == "uts")`, need{kinds: allKinds, types: ty(event.Net, event.Mnt, event.UTS)}},
		{`changes.exists(c, c.type != "net")`, anything},
		{`changes.exists(c, c.action == "join")`, anything},
		{`changes.all(c, c.type == "net")`, anything},
		{`changes.exists_one(c, c.type == "net")`, anything},
		{`!changes.exists(c, c.type == "net")`, anything},
		{`event == "unshare" && changes.exists(c, c.type == "net") && changes.exists(c, c.type in ["uts", "ipc"])`,
			need{kinds: k(event.Unshare), types: ty(event.Net)}},
		{`changes.exists(c, c.type == "net") || event == "clone"`, need{kinds: allKinds, types: allTypes}},
		{`flags.exists(f, f == "CLONE_NEWNET")`, anything},
		{`event == "unknown"`, need{kinds: k(event.KindUnknown), types: allTypes}},
	}
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		ast, iss := env.Compile(c.expr)
		if iss.Err() != nil {
			t.Fatalf("%s: %v", c.expr, iss.Err())
		}
		got, err := classify(ast.NativeRep().Expr())
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got.kinds != c.want.kinds || got.types != c.want.types || !slices.Equal(got.comms, c.want.comms) ||
			(got.comms == nil) != (c.want.comms == nil) {
			t.Errorf("%s:\n got  %+v\n want %+v", c.expr, got, c.want)
		}
	}
}

func TestRulesNamingNoSuchEventOrTypeAreRefused(t *testing.T) {
	for _, c := range []struct{ yaml, err string }{
		{"rules:\n  - name: a\n    match: event == \"setnss\" && uid == 0\n",
			`rules.yaml:3: rule "a": match: event is never "setnss" (rules see clone, unshare, setns, exec, destroy)`},
		{"rules:\n  - name: a\n    match: event in [\"clone\", \"lost\"]\n",
			`rules.yaml:3: rule "a": match: event is never "lost" (rules see clone, unshare, setns, exec, destroy)`},
		{"rules:\n  - name: b\n    match: 'true'\n    unless: changes.exists(c, c.type == \"network\")\n",
			`rules.yaml:4: rule "b": unless: no namespace type "network" (types: cgroup, ipc, mnt, net, pid, pid_for_children, time, time_for_children, user, uts)`},
	} {
		_, err := ParseRules("rules.yaml", []byte(c.yaml))
		if err == nil || err.Error() != c.err {
			t.Errorf("error %v\nwant  %s", err, c.err)
		}
	}
}

// The dispatch changes which rules run, never what they raise: on the
// recorded scenario, every rule is checked against every event directly.
func TestDispatchRaisesWhatEveryRuleWould(t *testing.T) {
	exprs := []string{
		`event == "setns"`,
		`event != "clone" && uid == 0`,
		`event in ["unshare", "clone"] && comm == "runc:[1:CHILD]"`,
		`comm in ["ip", "nsenter"]`,
		`comm == "ip" || event == "clone"`,
		`!(event == "setns") && changes.exists(c, c.type == "net")`,
		`changes.exists(c, c.type == "pid_for_children" || c.type == "mnt")`,
		`changes.exists(c, c.type == "user" && c.action == "create") && comm != "x"`,
		`event == "setns" ? changes.exists(c, c.host) : comm == "unshare"`,
		`error == "EPERM"`,
		`event == "unshare" && changes.exists(c, c.type == "net") && changes.exists(c, c.type == "uts")`,
		`container.id == "fixA" || changes.exists(c, c.container.id == "fixB")`,
	}
	var b strings.Builder
	b.WriteString("rules:\n")
	for i, e := range exprs {
		fmt.Fprintf(&b, "  - name: r%d\n    match: '%s'\n", i, e)
	}
	rules, err := ParseRules("rules.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	d := New(rules, WithInventory(hostInventory()), WithoutFolding())
	var a activation
	fired := make([]int, len(exprs))
	for _, ev := range readEvents(t, "testdata/scenario.jsonl") {
		var want []string
		a.reset(ev)
		for i, r := range rules.custom {
			if ok, _, err := r.match.eval(&a); ok && err == nil {
				want = append(want, r.name)
				fired[i]++
			}
		}
		var got []string
		for _, al := range d.Check(ev) {
			if strings.HasPrefix(al.Rule, "r") {
				got = append(got, al.Rule)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s by %s (pid %d): raised %v, want %v", ev.Kind, ev.Comm, ev.Pid, got, want)
		}
	}
	for i, n := range fired {
		if n == 0 {
			t.Errorf("r%d (%s) matched nothing: the test does not test it", i, exprs[i])
		}
	}
}

// With 10 000 rules, an event runs only those it could match: none for
// setns churn by a comm no rule names, exactly one for a comm one names.
func TestManyRulesRunOnlyWhereTheyCanMatch(t *testing.T) {
	rules, err := ParseRules("rules.yaml", []byte(trivialRules(10000)))
	if err != nil {
		t.Fatal(err)
	}
	d := New(rules, WithInventory(hostInventory()), WithoutFolding())
	ev := setnsEv(7, 0, join(event.UTS, hostUTS, 6000))
	ev.Comm = "churn"
	if allocs := testing.AllocsPerRun(100, func() {
		if len(d.Check(ev)) != 0 || d.spent != 0 {
			t.Fatalf("churn raised alerts or ran rules (cost %d)", d.spent)
		}
	}); allocs != 0 {
		t.Errorf("%v allocations per event", allocs)
	}
	ev.Comm = "x7" // r7: event == "setns" && comm == "x7"
	if got := names(d.Check(ev)); !slices.Equal(got, []string{"r7"}) || d.spent != rules.custom[7].match.cost {
		t.Errorf("x7 raised %v at cost %d, want r7 alone", got, d.spent)
	}
}
