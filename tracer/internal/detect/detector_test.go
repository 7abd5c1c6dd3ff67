package detect

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// Host namespace inodes on the machine that recorded testdata/scenario.jsonl
// (Linux 6.18: the fixed initial inodes).
const (
	hostMnt    = 4026531832
	hostTime   = 4026531834
	hostCgroup = 4026531835
	hostNet    = 4026531833
	hostPid    = 4026531836
	hostUser   = 4026531837
	hostUTS    = 4026531838
	hostIPC    = 4026531839
)

func hostInventory() *inventory.Inventory {
	inv := &inventory.Inventory{}
	for ty, ino := range map[event.NsType]uint32{event.Mnt: hostMnt, event.Net: hostNet, event.Pid: hostPid,
		event.User: hostUser, event.UTS: hostUTS, event.IPC: hostIPC, event.Cgroup: hostCgroup, event.Time: hostTime} {
		inv.Namespaces = append(inv.Namespaces, inventory.Namespace{Type: ty, Inode: ino, Host: true})
	}
	return inv
}

func readEvents(t testing.TB, path string) []*event.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []*event.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ev := &event.Event{}
		if err := ev.UnmarshalJSON(sc.Bytes()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

type gotAlert struct {
	rule string
	sev  Severity
	pid  uint32
}

func runAll(d *Detector, evs []*event.Event) []Alert {
	var all []Alert
	for _, ev := range evs {
		all = append(all, d.Check(ev)...)
	}
	return all
}

// testdata/scenario.jsonl is a real recording (testdata/scenario.sh, resolved
// events as nstrace writes them) of ordinary container work and each hostile
// pattern: ip netns add/exec/del, unshare, `ip netns add` inside a private
// mount namespace, two runc containers, runc exec, nsenter from the host,
// an nsenter from container A into B's network, an escape to the host's
// network through a kept fd, an unprivileged user namespace with a network
// namespace made inside it, and three denied unshares.
func TestScenarioRaisesExactlyTheHostileAlerts(t *testing.T) {
	d := New(nil, WithInventory(hostInventory()), WithoutFolding())
	alerts := runAll(d, readEvents(t, "testdata/scenario.jsonl"))
	want := []gotAlert{
		{RuleCrossContainerJoin, Warning, 5819},
		{RuleHostNamespaceEntry, Critical, 5822},
		{RuleUnprivilegedUserns, Warning, 5824},
		{RuleUnprivilegedUserns, Warning, 5825},
		{RuleDeniedChange, Notice, 5827},
		{RuleDeniedChange, Notice, 5828},
		{RuleDeniedChange, Notice, 5826},
	}
	var got []gotAlert
	for _, a := range alerts {
		got = append(got, gotAlert{a.Rule, a.Severity, a.Pid})
	}
	if len(got) != len(want) {
		t.Fatalf("got %d alerts, want %d:\n%s", len(got), len(want), describe(alerts))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("alert %d: got %+v, want %+v\n%s", i, got[i], want[i], describe(alerts))
		}
	}
	byRule := map[string]Alert{}
	for _, a := range alerts {
		if _, ok := byRule[a.Rule]; !ok {
			byRule[a.Rule] = a
		}
	}
	host := byRule[RuleHostNamespaceEntry]
	if host.Container == nil || host.Container.ID != "fixA" || host.Trigger == nil || host.Trigger.Pid != 5822 {
		t.Errorf("host entry alert: container %+v trigger %+v", host.Container, host.Trigger)
	}
	for _, s := range []string{`"nsenter" (pid 5822)`, "ctr fixA's ipc+mnt+pid+uts", "host's net namespace"} {
		if !strings.Contains(host.Message, s) {
			t.Errorf("host entry message %q lacks %q", host.Message, s)
		}
	}
	cross := byRule[RuleCrossContainerJoin]
	if cross.Container == nil || cross.Container.ID != "fixA" || cross.Joined == nil || cross.Joined.ID != "fixB" {
		t.Errorf("cross-container alert: from %+v joined %+v", cross.Container, cross.Joined)
	}
	userns := alerts[3]
	if userns.Userns != 4026532246 || len(userns.Created) != 1 || userns.Created[0] != event.Net {
		t.Errorf("follow-up userns alert: userns %d created %v: %s", userns.Userns, userns.Created, userns.Message)
	}
}

func describe(alerts []Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		b.Write(a.AppendText(nil, false))
		b.WriteByte('\n')
	}
	return b.String()
}

// The same recording with the hostile part cut off raises nothing at all.
func TestOrdinaryContainerWorkIsQuiet(t *testing.T) {
	d := New(nil, WithInventory(hostInventory()), WithoutFolding())
	for _, ev := range readEvents(t, "testdata/scenario.jsonl") {
		if ev.Pid >= 5818 { // the hostile nsenter of A into B
			break
		}
		if as := d.Check(ev); len(as) > 0 {
			t.Errorf("ordinary event raised %s", describe(as))
		}
	}
}

func setnsEv(tid uint32, at time.Duration, c ...event.Change) *event.Event {
	return &event.Event{Time: time.Unix(1000, 0).Add(at), Kind: event.Setns, Pid: tid, Tid: tid, Ppid: 1, Comm: "x", Changes: c}
}

func join(ty event.NsType, from, to uint32) event.Change {
	return event.Change{Type: ty, Action: event.Join, From: from, To: to, Host: to == hostNet || to == hostMnt}
}

func TestHostEntry(t *testing.T) {
	ctrA := &event.Container{ID: "a", Runtime: "runc"}
	inA := func(c event.Change) event.Change { c.Container = ctrA; return c }
	cases := []struct {
		name   string
		events []*event.Event
		alerts int
	}{
		{"a host process joining the host's net is not an escape",
			[]*event.Event{setnsEv(10, 0, join(event.Net, 5000, hostNet))}, 0},
		{"a process in a container's mnt joining the host's net is",
			[]*event.Event{
				setnsEv(10, 0, inA(join(event.Mnt, hostMnt, 6000))),
				setnsEv(10, 1, join(event.Net, hostNet+0, hostNet)),
				setnsEv(10, 2, inA(join(event.Net, hostNet, 6001))),
				setnsEv(10, 3, join(event.Net, 6001, hostNet)),
			}, 1},
		{"a sandboxed process returning to the host net it left is not",
			[]*event.Event{
				{Time: time.Unix(1000, 0), Kind: event.Unshare, Pid: 11, Tid: 11, Comm: "ip",
					Changes: []event.Change{{Type: event.Mnt, Action: event.Create, From: hostMnt, To: 7000}}},
				{Time: time.Unix(1001, 0), Kind: event.Unshare, Pid: 11, Tid: 11, Comm: "ip",
					Changes: []event.Change{{Type: event.Net, Action: event.Create, From: hostNet, To: 7001}}},
				setnsEv(11, 2*time.Second, join(event.Net, 7001, hostNet)),
			}, 0},
		{"unshare -n -u then a setns back to the host's net is a round trip",
			[]*event.Event{
				{Time: time.Unix(1000, 0), Kind: event.Unshare, Pid: 15, Tid: 15, Comm: "unshare",
					Changes: []event.Change{{Type: event.Net, Action: event.Create, From: hostNet, To: 7001},
						{Type: event.UTS, Action: event.Create, From: hostUTS, To: 7002}}},
				setnsEv(15, time.Second, join(event.Net, 7001, hostNet)),
			}, 0},
		{"a sandboxed process that changed identity since it left is not returning",
			[]*event.Event{
				setnsEv(12, 0, join(event.Net, hostNet, 7001)),
				setnsEv(12, 1, join(event.Mnt, hostMnt, 7000)),
				setnsEv(12, 2, join(event.Net, 7001, hostNet)),
			}, 1},
		{"nsenter -a out of a container raises one alert, not one per namespace",
			[]*event.Event{
				setnsEv(13, 0, inA(join(event.Mnt, hostMnt, 6000))),
				setnsEv(13, time.Millisecond, join(event.Net, 6001, hostNet)),
				setnsEv(13, 2*time.Millisecond, join(event.Mnt, 6000, hostMnt)),
			}, 1},
		{"a child forked in a container inherits its parent's namespaces",
			[]*event.Event{
				{Time: time.Unix(1000, 0), Kind: event.Clone, Pid: 20, Tid: 20, Ppid: 1, Comm: "runc:[1:CHILD]",
					Changes: []event.Change{{Type: event.Mnt, Action: event.Create, From: hostMnt, To: 6000, Container: ctrA}}},
				{Time: time.Unix(1001, 0), Kind: event.Setns, Pid: 21, Tid: 21, Ppid: 20, Comm: "sh",
					Changes: []event.Change{join(event.Net, 6001, hostNet)}},
			}, 1},
		{"setns churn between uts namespaces in the host's mount namespace is no escape",
			[]*event.Event{
				setnsEv(16, 0, join(event.UTS, 7002, hostUTS)), // first seen already away
				setnsEv(16, 1, join(event.UTS, hostUTS, 7002)),
				setnsEv(16, 2, join(event.UTS, 7002, hostUTS)),
			}, 0},
		{"a reused thread id whose recorded namespaces disagree starts over",
			[]*event.Event{
				setnsEv(14, 0, inA(join(event.Mnt, hostMnt, 6000))),
				setnsEv(14, time.Minute, join(event.Mnt, hostMnt, hostMnt+0)), // from host: not what we had
				setnsEv(14, time.Minute+1, join(event.Net, 6001, hostNet)),
			}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := New(nil, WithInventory(hostInventory())) // folding: nsenter -a is one alert
			var n int
			for _, ev := range c.events {
				for _, a := range d.Check(ev) {
					if a.Rule == RuleHostNamespaceEntry {
						n++
					}
				}
			}
			if n != c.alerts {
				t.Errorf("%d alerts, want %d", n, c.alerts)
			}
		})
	}
}

func TestTaskTableIsBounded(t *testing.T) {
	d := New(nil, WithMaxTasks(100), WithInventory(hostInventory()), WithoutFolding())
	for tid := uint32(1); tid <= 1000; tid++ {
		d.Check(setnsEv(tid, 0, join(event.Net, hostNet, 7000+tid)))
	}
	if d.Tasks() != 100 {
		t.Fatalf("%d tasks remembered, want 100", d.Tasks())
	}
	// The newest are kept.
	if d.tasks.get(1000) == nil || d.tasks.get(1) != nil {
		t.Error("the table kept the oldest tasks instead of the newest")
	}
}

// The common case (no alert) allocates nothing, with or without rules.
func BenchmarkCheck(b *testing.B) {
	evs := readEvents(b, "testdata/scenario.jsonl")
	var quiet []*event.Event
	for _, ev := range evs {
		if ev.Pid < 5818 {
			quiet = append(quiet, ev)
		}
	}
	b.Run("builtins", func(b *testing.B) {
		d := New(nil, WithInventory(hostInventory()), WithoutFolding())
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ev := quiet[i%len(quiet)]
			if len(d.Check(ev)) != 0 {
				b.Fatal("alert in the quiet part")
			}
		}
	})
	b.Run("with-a-rule-file", func(b *testing.B) {
		rules, err := ParseRules("bench.yaml", []byte(`rules:
  - name: never
    match: event == "setns" && comm == "no-such-comm" && changes.exists(c, c.type == "net" && c.host)
`))
		if err != nil {
			b.Fatal(err)
		}
		d := New(rules, WithInventory(hostInventory()), WithoutFolding())
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			d.Check(quiet[i%len(quiet)])
		}
	})
}
