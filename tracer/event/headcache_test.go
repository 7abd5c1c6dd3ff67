package event

import (
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// An encoder that remembers heads writes every event exactly as one that
// formats each afresh: a stream where each head value changes in turn,
// back and forth, and a container changed in place under the same pointer.
func TestRememberedHeadsWriteTheSameJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 5, 0, 0, 1, time.UTC)
	proc := &Process{Exe: "/usr/bin/churn", Args: []string{"churn", "5s"},
		Ancestors: []Ancestor{{Pid: 4000, Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 1, Comm: "systemd"}}}
	ctr := &Container{ID: "4f2a9c1b7d3e", Runtime: "docker", Name: "web", Image: "nginx:1.27"}
	base := Event{Time: at, Kind: Setns, Pid: 10, Tid: 10, Ppid: 1, UID: 0, Comm: "churn", Flags: unix.CLONE_NEWUTS,
		CgroupID: 1, UserNS: 4026531837, Auid: NoAuid, Caps: 1<<41 - 1, HasCreds: true, Process: proc,
		Changes: []Change{{Type: UTS, Action: Join, From: 4026532200, To: 4026531838, NsID: 1, Host: true}}}
	variants := []func(e *Event){
		func(e *Event) { e.Pid = 11 },
		func(e *Event) { e.Tid = 12 },
		func(e *Event) { e.Ppid = 2 },
		func(e *Event) { e.UID = 1000 },
		func(e *Event) { e.Comm = "other" },
		func(e *Event) { e.Comm = "quote\"d\n" },
		func(e *Event) { e.CgroupID = 0 },
		func(e *Event) { e.UserNS = 0 },
		func(e *Event) { e.Flags = unix.CLONE_NEWNET },
		func(e *Event) { e.Kind = Exec },
		func(e *Event) { e.Kind = Destroy },
		func(e *Event) { e.Errno, e.Target = syscall.EPERM, &Target{Type: Net, Inode: 4026532201} },
		func(e *Event) { e.Errno, e.Target = syscall.EPERM, &Target{Type: UTS, Inode: 4026532201} },
		func(e *Event) { e.Auid = 1000 },
		func(e *Event) { e.Caps = 1 << 21 },
		func(e *Event) { e.HasCreds = false },
		func(e *Event) { e.Process = nil },
		func(e *Event) { e.Process = &Process{Exe: "/usr/bin/churn", Args: []string{"churn", "6s"}} },
		func(e *Event) { e.Container = ctr },
		func(e *Event) { e.Container = &Container{ID: "4f2a9c1b7d3e", Runtime: "docker"} },
		func(e *Event) {
			e.Container = &Container{ID: "x", Pod: &Pod{Name: "p", Labels: map[string]string{"a": "b"}}}
		},
	}
	var nums Numbers
	check := func(i int, e *Event) {
		t.Helper()
		got := string(e.AppendJSONWith(nil, &nums))
		if want := string(e.AppendJSON(nil)); got != want {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
	for round := range 2 * jsonSlotCount {
		for i, v := range variants[:len(variants)-round%3] {
			e := base
			e.Time = at.Add(time.Duration(round*100+i) * time.Microsecond)
			v(&e)
			check(i, &base)
			check(i, &e)
		}
	}
	// The same pointer, another container: the line follows the values.
	e := base
	e.Container = ctr
	check(0, &e)
	ctr.Name, ctr.Image = "api", "api:2"
	check(1, &e)
	if got := string(e.AppendJSONWith(nil, &nums)); !strings.Contains(got, `"name":"api","image":"api:2"`) {
		t.Fatalf("a container changed in place kept its old text: %s", got)
	}
}

// The hot path under setns churn: one root thread's events, back and
// forth between two UTS namespaces, through one encoder.
func BenchmarkAppendJSONChurn(b *testing.B) {
	proc := &Process{Exe: "/usr/local/bin/nsbench",
		Args: []string{"/usr/local/bin/nsbench", "workload", "-name", "setns", "-duration", "400ms", "-cpu", "0"},
		Ancestors: []Ancestor{{Pid: 4102, Comm: "nsbench", Exe: "/usr/local/bin/nsbench"},
			{Pid: 3823, Comm: "bash", Exe: "/usr/bin/bash"}, {Pid: 3801, Comm: "sshd", Exe: "/usr/sbin/sshd"},
			{Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd"}}}
	ev := Event{Time: time.Now(), Kind: Setns, Pid: 4103, Tid: 4103, Ppid: 4102, Comm: "nsbench",
		CgroupID: 1, UserNS: 4026531837, Flags: unix.CLONE_NEWUTS, Auid: NoAuid, Caps: 1<<41 - 1, HasCreds: true,
		Process: proc, Changes: make([]Change, 1)}
	var nums Numbers
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		ev.Time = ev.Time.Add(3 * time.Microsecond)
		from, to := uint32(4026532200), uint32(4026531838)
		if i%2 == 0 {
			from, to = to, from
		}
		ev.Changes[0] = Change{Type: UTS, Action: Join, From: from, To: to, NsID: 1, Host: i%2 != 0}
		buf = ev.AppendJSONWith(buf[:0], &nums)
	}
}

// differ returns v changed: another number, string or truth value, or a
// pointer to a zero value.
func differ(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(v.Uint() + 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	default:
		t.Fatalf("no way to change a %s", v.Type())
	}
}

// Every field of an Event either is compared to find its head, or is
// written outside the head, or is not written (Where, MemCgroupID): a field added to
// Event must be one of these, or a remembered head would hide it.
func TestHeadKeyComparesEveryHeadField(t *testing.T) {
	notInHead := map[string]bool{"Time": true, "Kind": true, "Changes": true, "Lost": true, "Cause": true,
		"Count": true, "Counted": true, "Where": true, "MemCgroupID": true}
	base := Event{Kind: Setns, Pid: 1, Tid: 2, Ppid: 3, UID: 4, Comm: "c", Flags: 5, Errno: 6,
		Target: &Target{Type: Net, Inode: 7}, CgroupID: 8, UserNS: 9, Container: &Container{ID: "i", Name: "n"},
		Auid: 10, Caps: 11, HasCreds: true, Process: &Process{Exe: "/e"}}
	k := headKeyOf(&base)
	ty := reflect.TypeOf(base)
	for i := range ty.NumField() {
		f := ty.Field(i)
		if notInHead[f.Name] {
			continue
		}
		e := base
		differ(t, reflect.ValueOf(&e).Elem().Field(i))
		if k.matches(&e) {
			t.Errorf("an event differing in %s matches the head key", f.Name)
		}
	}
	for _, kind := range []Kind{Exec, Destroy} {
		e := base
		e.Kind = kind
		if k.matches(&e) {
			t.Errorf("a %s event (no flags) matches a setns event's head key", kind)
		}
	}
	for _, change := range []func(e *Event){
		func(e *Event) { e.Target = &Target{Type: Net, Inode: 8} },
		func(e *Event) { e.Target = nil },
		func(e *Event) { e.Container = &Container{ID: "i", Name: "m"} },
		func(e *Event) { e.Container = nil },
	} {
		e := base
		change(&e)
		if k.matches(&e) {
			t.Errorf("%+v matches the head key of %+v", e, base)
		}
	}
	if same := base; !k.matches(&same) {
		t.Error("an equal event does not match its head key")
	}
}
