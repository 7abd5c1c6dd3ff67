package detect

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

var t0 = time.Date(2026, 11, 29, 23, 50, 0, 0, time.UTC)

// userns is an unprivileged unshare -U by pid at t0+at, in ctr (nil: the
// host).
func userns(pid uint32, at time.Duration, ctr *event.Container) *event.Event {
	return &event.Event{Time: t0.Add(at), Kind: event.Unshare, Pid: pid, Tid: pid, Ppid: 1, UID: 65534,
		Comm: "unshare", Flags: syscall.CLONE_NEWUSER, Container: ctr,
		Changes: []event.Change{{Type: event.User, Action: event.Create, From: hostUser, To: 4026540000 + pid}}}
}

// check runs evs through d, then ends the stream, and returns every alert.
func checkAll(d *Detector, evs ...*event.Event) []Alert {
	var all []Alert
	for _, ev := range evs {
		all = append(all, d.Check(ev)...)
	}
	return append(all, d.Close()...)
}

// 200 processes each creating a user namespace within one window: the
// first raises an alert at once, and the window closes with one alert
// counting all 200, the first and last pids kept.
func TestAlertsFoldAcrossProcessesPerRuleAndContainer(t *testing.T) {
	d := New(nil, WithInventory(hostInventory()))
	var evs []*event.Event
	for i := range uint32(200) {
		evs = append(evs, userns(1000+i, time.Duration(i)*time.Millisecond, nil))
	}
	var at []Alert
	for _, ev := range evs {
		at = append(at, d.Check(ev)...)
	}
	if len(at) != 1 || at[0].Pid != 1000 || at[0].Count != 0 {
		t.Fatalf("during the window: want one alert from pid 1000 at once; got:\n%s", describe(at))
	}
	end := d.Close()
	if len(end) != 1 {
		t.Fatalf("closing: want one alert; got:\n%s", describe(end))
	}
	a := end[0]
	if a.Rule != RuleUnprivilegedUserns || a.Count != 200 || a.Pid != 1000 || a.Trigger.Pid != 1000 ||
		a.Last == nil || a.Last.Pid != 1199 || !a.Time.Equal(t0) {
		t.Errorf("closing alert: rule %s count %d pid %d last %+v", a.Rule, a.Count, a.Pid, a.Last)
	}
	want := `"unshare" (pid 1000) created user namespace 4026541000 as uid 65534; 200 times in all, the last by "unshare" (pid 1199) at 23:50:00.199000`
	if a.Message != want {
		t.Errorf("message\n%q\nwant\n%q", a.Message, want)
	}
	var rec struct {
		Count uint64 `json:"count"`
		Pid   uint32 `json:"pid"`
		Last  struct {
			Pid uint32 `json:"pid"`
		} `json:"last_trigger"`
	}
	if err := json.Unmarshal(a.AppendJSON(nil), &rec); err != nil || rec.Count != 200 || rec.Pid != 1000 || rec.Last.Pid != 1199 {
		t.Errorf("JSON: %+v (%v): %s", rec, err, a.AppendJSON(nil))
	}
	if strings.Contains(string(at[0].AppendJSON(nil)), `"count"`) {
		t.Errorf("an alert raised at once carries a count: %s", at[0].AppendJSON(nil))
	}
}

// Windows are per container, close at the first event past them, and a
// trigger alone in its window raises nothing more.
func TestFoldingWindowsAreByContainerAndClose(t *testing.T) {
	a, b := &event.Container{ID: "aaaa", Runtime: "runc"}, &event.Container{ID: "bbbb", Runtime: "runc"}
	d := New(nil, WithInventory(hostInventory()), WithRepeatWindow(10*time.Second))
	got := checkAll(d,
		userns(1, 0, a), userns(2, time.Second, b), userns(3, 2*time.Second, a), userns(4, 3*time.Second, nil),
		userns(5, 11*time.Second, a), // past a's window: closes it, opens the next
	)
	type seen struct {
		pid   uint32
		count uint64
		ctr   string
	}
	want := []seen{{1, 0, "aaaa"}, {2, 0, "bbbb"}, {4, 0, ""}, {1, 2, "aaaa"}, {5, 0, "aaaa"}}
	if len(got) != len(want) {
		t.Fatalf("got %d alerts, want %d:\n%s", len(got), len(want), describe(got))
	}
	for i, w := range want {
		g := seen{got[i].Pid, got[i].Count, ""}
		if got[i].Container != nil {
			g.ctr = got[i].Container.ID
		}
		if g != w {
			t.Errorf("alert %d: %+v, want %+v", i, g, w)
		}
	}
	if got[3].Last.Pid != 3 {
		t.Errorf("a's window ended with pid %d, want 3", got[3].Last.Pid)
	}
}

// The rule file sets each rule's window; 0 raises every trigger.
func TestRuleFileSetsTheFoldingWindow(t *testing.T) {
	rules, err := ParseRules("r.yaml", []byte(`version: 1
builtin:
  unprivileged-userns:
    window: 0s
  denied-namespace-change:
    window: 1m
rules:
  - name: any-unshare
    severity: info
    match: event == "unshare"
    window: 2s
`))
	if err != nil {
		t.Fatal(err)
	}
	d := New(rules, WithInventory(hostInventory()))
	denied := func(pid uint32, at time.Duration) *event.Event {
		return &event.Event{Time: t0.Add(at), Kind: event.Unshare, Pid: pid, Tid: pid, UID: 1000,
			Comm: "x", Flags: syscall.CLONE_NEWNET, Errno: syscall.EPERM}
	}
	got := checkAll(d, userns(1, 0, nil), userns(2, time.Second, nil), userns(3, 3*time.Second, nil),
		denied(4, 4*time.Second), denied(5, 50*time.Second))
	count := map[string][]uint64{}
	for _, a := range got {
		count[a.Rule] = append(count[a.Rule], a.Count)
	}
	// userns: never folded. any-unshare (every event here): 2s windows
	// from 0s (0s, 1s), 3s (3s, 4s) and 50s; denied: one minute, so 4s and
	// 50s fold.
	for rule, want := range map[string][]uint64{
		RuleUnprivilegedUserns: {0, 0, 0},
		"any-unshare":          {0, 2, 0, 2, 0},
		RuleDeniedChange:       {0, 2},
	} {
		if g := count[rule]; len(g) != len(want) || !equal(g, want) {
			t.Errorf("%s: counts %v, want %v\n%s", rule, g, want, describe(got))
		}
	}
	for _, bad := range []string{"window: soon", "window: -1s"} {
		_, err := ParseRules("r.yaml", []byte("builtin:\n  unprivileged-userns:\n    "+bad+"\n"))
		want := `r.yaml:3: rule "unprivileged-userns": window "` + strings.TrimPrefix(bad, "window: ") + `": want a duration such as 30s (0: no folding)`
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", bad, err, want)
		}
	}
}

func equal(a, b []uint64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// Due closes what the stream's clock has passed: replayed, the last
// event's time.
func TestDueClosesWindowsByTheStreamsClock(t *testing.T) {
	d := New(nil, WithInventory(hostInventory()), WithRepeatWindow(time.Second))
	d.Check(userns(1, 0, nil))
	d.Check(userns(2, 500*time.Millisecond, nil))
	if as := d.Due(); len(as) != 0 {
		t.Fatalf("closed early:\n%s", describe(as))
	}
	d.Check(&event.Event{Time: t0.Add(2 * time.Second), Kind: event.Exec, Pid: 9, Tid: 9, Comm: "sh"})
	if as := d.Check(&event.Event{Time: t0.Add(2 * time.Second), Kind: event.Exec, Pid: 9, Tid: 9}); len(as) != 0 {
		t.Errorf("closed twice:\n%s", describe(as))
	}
	if as := d.Close(); len(as) != 0 {
		t.Errorf("left open:\n%s", describe(as))
	}
}

// Live, a window closes once the wall time since its last event was seen
// covers the rest of it, and not before: the clock is read at Due, not for
// every event.
func TestLiveWindowsCloseOnTheWallClock(t *testing.T) {
	const window = 40 * time.Millisecond
	d := New(nil, WithInventory(hostInventory()), WithWallClock(), WithRepeatWindow(window))
	for i, at := range []time.Duration{0, time.Millisecond} {
		if got := d.Check(userns(1000+uint32(i), at, nil)); len(got) != i^1 {
			t.Fatalf("event %d: %d alerts at once, want %d", i, len(got), i^1)
		}
	}
	seen := time.Now()
	if got := d.Due(); len(got) != 0 {
		t.Fatalf("right after the events: %d closing alerts, want none yet:\n%s", len(got), describe(got))
	}
	var closing []Alert
	for deadline := seen.Add(5 * time.Second); len(closing) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the window never closed")
		}
		time.Sleep(time.Millisecond)
		closing = append(closing, d.Due()...)
	}
	if waited := time.Since(seen); waited < window-time.Millisecond {
		t.Errorf("the window closed %v after its last event was seen, before the %v left of it", waited, window-time.Millisecond)
	}
	if len(closing) != 1 || closing[0].Count != 2 || closing[0].Last == nil || closing[0].Last.Pid != 1001 {
		t.Errorf("closing alerts:\n%s\nwant one counting 2, the last by pid 1001", describe(closing))
	}
}
