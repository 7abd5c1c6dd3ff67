package event

import (
	"reflect"
	"testing"
	"time"
)

// An encoder that remembers changes writes every event exactly as one that
// formats each afresh: changes differing in each value in turn, more of
// them than it remembers, with and without containers and pods.
func TestRememberedChangesWriteTheSameJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 5, 0, 0, 1, time.UTC)
	base := Change{Type: UTS, Action: Join, From: 4026532200, To: 4026531838, NsID: 1, Host: true, Owner: 4026531837}
	variants := []func(c *Change){
		func(c *Change) {},
		func(c *Change) { c.Type = Net },
		func(c *Change) { c.Action = Create },
		func(c *Change) { c.Action = ActionDestroy },
		func(c *Change) { c.From = 4026532201 },
		func(c *Change) { c.To = 4026532202 },
		func(c *Change) { c.NsID = 0 },
		func(c *Change) { c.Name = "blue\"" },
		func(c *Change) { c.Host = false },
		func(c *Change) { c.Owner = 0 },
		func(c *Change) { c.Container = &Container{ID: "4f2a", Runtime: "docker"} },
		func(c *Change) { c.Container = &Container{ID: "4f2a", Runtime: "containerd"} },
		func(c *Change) {
			c.Container = &Container{ID: "4f2a", Pod: &Pod{Name: "web", Labels: map[string]string{"a": "b"}}}
		},
	}
	var nums Numbers
	for round := range 3 {
		for i := range variants {
			ev := Event{Time: at.Add(time.Duration(round*100+i) * time.Microsecond), Kind: Setns, Pid: 10, Tid: 10, Comm: "x"}
			for j := range 1 + i%3 {
				c := base
				variants[(i+j*round)%len(variants)](&c)
				ev.Changes = append(ev.Changes, c)
			}
			got := string(ev.AppendJSONWith(nil, &nums))
			if want := string(ev.AppendJSON(nil)); got != want {
				t.Fatalf("round %d event %d:\n got %s\nwant %s", round, i, got, want)
			}
		}
	}
}

// Likewise every field of a Change is compared.
func TestChangeKeyComparesEveryField(t *testing.T) {
	base := Change{Type: UTS, Action: Join, From: 1, To: 2, NsID: 3, Name: "n", Host: true, Owner: 4,
		Container: &Container{ID: "i"}}
	k := keyOf(&base)
	ty := reflect.TypeOf(base)
	for i := range ty.NumField() {
		c := base
		differ(t, reflect.ValueOf(&c).Elem().Field(i))
		if k.matches(&c) {
			t.Errorf("a change differing in %s matches the key", ty.Field(i).Name)
		}
	}
	if c := base; !k.matches(&c) {
		t.Error("an equal change does not match its key")
	}
	if c := base; func() bool { c.Container = nil; return k.matches(&c) }() {
		t.Error("a change without a container matches one with")
	}
}
