package filter_test

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/filter"
)

var t0 = time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)

var (
	ctr = &event.Container{ID: "0123456789abcdef", Runtime: "docker", Name: "web"}

	unshareNetUTS = event.Event{Time: t0, Kind: event.Unshare, Pid: 100, Tid: 100, Ppid: 1, Comm: "unshare",
		Flags: unix.CLONE_NEWNET | unix.CLONE_NEWUTS,
		Changes: []event.Change{
			{Type: event.Net, Action: event.Create, From: 4026531833, To: 4026532500},
			{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532501}}}
	cloneByRunc = event.Event{Time: t0.Add(time.Second), Kind: event.Clone, Pid: 201, Tid: 201, Ppid: 200, Comm: "runc:[1:CHILD]",
		Flags: unix.CLONE_NEWPID, Container: ctr,
		Changes: []event.Change{{Type: event.Pid, Action: event.Create, From: 4026531836, To: 4026532600, NsID: 9001}}}
	setnsIP = event.Event{Time: t0.Add(2 * time.Second), Kind: event.Setns, Pid: 300, Tid: 300, Ppid: 1, Comm: "ip",
		Flags:   unix.CLONE_NEWNET,
		Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026531833, To: 4026532500, Container: ctr}}}
	deniedSetns = event.Event{Time: t0.Add(3 * time.Second), Kind: event.Setns, Pid: 400, Tid: 400, Ppid: 1, Comm: "nsenter",
		Errno: syscall.EPERM, Target: &event.Target{Type: event.Net, Inode: 4026532500}}
	deniedUnsharePid = event.Event{Time: t0.Add(4 * time.Second), Kind: event.Unshare, Pid: 500, Tid: 500, Ppid: 1, Comm: "unshare",
		Flags: unix.CLONE_NEWPID, Errno: syscall.EPERM}
	lost = event.Event{Time: t0.Add(5 * time.Second), Kind: event.Lost, Lost: 3}
)

func TestKeep(t *testing.T) {
	tests := []struct {
		name string
		opts filter.Options
		ev   event.Event
		keep bool
		// changes left (types) when kept; nil: unchanged
		changes []event.NsType
	}{
		{"no filter keeps everything", filter.Options{}, unshareNetUTS, true, nil},
		{"a pid matches the caller", filter.Options{Pids: []uint32{100}}, unshareNetUTS, true, nil},
		{"a pid does not match another process", filter.Options{Pids: []uint32{101}}, unshareNetUTS, false, nil},
		{"a pid matches a new task's creator, as in the kernel", filter.Options{Pids: []uint32{200}}, cloneByRunc, true, nil},
		{"a pid does not match a new task itself", filter.Options{Pids: []uint32{201}}, cloneByRunc, false, nil},
		{"any of several pids matches", filter.Options{Pids: []uint32{7, 300}}, setnsIP, true, nil},
		{"a comm glob matches", filter.Options{Comms: []string{"runc:*"}}, cloneByRunc, true, nil},
		{"a comm glob does not match", filter.Options{Comms: []string{"runc*"}}, setnsIP, false, nil},
		{"an exact comm matches", filter.Options{Comms: []string{"ip"}}, setnsIP, true, nil},
		{"a type keeps only its changes", filter.Options{Types: []event.NsType{event.UTS}}, unshareNetUTS, true, []event.NsType{event.UTS}},
		{"a type drops an event without such changes", filter.Options{Types: []event.NsType{event.Mnt}}, unshareNetUTS, false, nil},
		{"a type keeps a failed call whose flags aim at it", filter.Options{Types: []event.NsType{event.PidForChildren}}, deniedUnsharePid, true, nil},
		{"a failed unshare of pid does not touch pid itself", filter.Options{Types: []event.NsType{event.Pid}}, deniedUnsharePid, false, nil},
		{"a failed setns with nstype 0 could have been any type", filter.Options{Types: []event.NsType{event.Cgroup}}, deniedSetns, true, nil},
		{"an event kind matches", filter.Options{Events: []event.Kind{event.Setns}}, setnsIP, true, nil},
		{"an event kind does not match", filter.Options{Events: []event.Kind{event.Clone, event.Unshare}}, setnsIP, false, nil},
		{"failed keeps a denied call", filter.Options{Failed: true}, deniedSetns, true, nil},
		{"failed drops a successful call", filter.Options{Failed: true}, setnsIP, false, nil},
		{"a container ID prefix matches the process", filter.Options{Containers: []string{"0123"}}, cloneByRunc, true, nil},
		{"a container name matches a namespace's container", filter.Options{Containers: []string{"web"}}, setnsIP, true, nil},
		{"a container filter drops events outside containers", filter.Options{Containers: []string{"web"}}, unshareNetUTS, false, nil},
		{"a namespace inode matches a change's target", filter.Options{Namespaces: []uint64{4026532500}}, setnsIP, true, nil},
		{"a namespace inode matches a change's origin", filter.Options{Namespaces: []uint64{4026531836}}, cloneByRunc, true, nil},
		{"a namespace id matches", filter.Options{Namespaces: []uint64{9001}}, cloneByRunc, true, nil},
		{"a namespace matches a failed setns's target", filter.Options{Namespaces: []uint64{4026532500}}, deniedSetns, true, nil},
		{"a namespace not touched drops the event", filter.Options{Namespaces: []uint64{4026532999}}, setnsIP, false, nil},
		{"since drops earlier events", filter.Options{Since: t0.Add(time.Second)}, unshareNetUTS, false, nil},
		{"since keeps an event at that instant", filter.Options{Since: t0.Add(time.Second)}, cloneByRunc, true, nil},
		{"until drops later events", filter.Options{Until: t0.Add(time.Second)}, setnsIP, false, nil},
		{"loss markers pass other filters", filter.Options{Pids: []uint32{1}, Failed: true, Types: []event.NsType{event.Net}}, lost, true, nil},
		{"loss markers obey time", filter.Options{Until: t0}, lost, false, nil},
		{"all options must match", filter.Options{Pids: []uint32{300}, Comms: []string{"ip"}, Events: []event.Kind{event.Unshare}}, setnsIP, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := filter.New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ev := *tt.ev.Clone()
			if got := f.Keep(&ev); got != tt.keep {
				t.Fatalf("Keep = %v, want %v (filter %q)", got, tt.keep, f)
			}
			if !tt.keep {
				return
			}
			want := tt.changes
			if want == nil {
				for _, c := range tt.ev.Changes {
					want = append(want, c.Type)
				}
			}
			if len(ev.Changes) != len(want) {
				t.Fatalf("changes %v, want types %v", ev.Changes, want)
			}
			for i, c := range ev.Changes {
				if c.Type != want[i] {
					t.Errorf("change %d is %s, want %s", i, c.Type, want[i])
				}
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := filter.New(filter.Options{Comms: []string{"[unclosed"}}); err == nil {
		t.Error("accepted a malformed glob")
	}
	if _, err := filter.New(filter.Options{Since: t0, Until: t0.Add(-time.Second)}); err == nil {
		t.Error("accepted until before since")
	}
	if f, err := filter.New(filter.Options{}); f != nil || err != nil {
		t.Errorf("an empty filter is %v, %v; want nil", f, err)
	}
}

func TestStringReadsAsFlags(t *testing.T) {
	f, _ := filter.New(filter.Options{Pids: []uint32{1, 2}, Comms: []string{"ip*"}, Types: []event.NsType{event.Net},
		Events: []event.Kind{event.Setns}, Failed: true, Namespaces: []uint64{4026532500}})
	want := `--pid 1,2 --comm "ip*" --type net --event setns --failed --ns 4026532500`
	if got := f.String(); got != want {
		t.Errorf("String() = %s\nwant       %s", got, want)
	}
}

func TestKeepAllocatesNothing(t *testing.T) {
	f, _ := filter.New(filter.Options{Comms: []string{"i*"}, Types: []event.NsType{event.Net}, Pids: []uint32{300}})
	ev := *setnsIP.Clone()
	allocs := testing.AllocsPerRun(1000, func() {
		ev.Changes = ev.Changes[:1]
		f.Keep(&ev)
	})
	if allocs != 0 {
		t.Errorf("Keep allocates %.1f times per event", allocs)
	}
}

func TestParseMoment(t *testing.T) {
	start := time.Date(2026, 11, 29, 23, 50, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-29T03:38:18.5Z", time.Date(2026, 11, 29, 3, 38, 18, 5e8, time.UTC)},
		{"2026-11-29T05:38:18+02:00", time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)},
		{"2026-11-29 03:38:18", time.Date(2026, 11, 29, 3, 38, 18, 0, time.UTC)},
		{"90s", start.Add(90 * time.Second)},
		{"1h30m", start.Add(90 * time.Minute)},
		{"23:55:00.250", time.Date(2026, 11, 29, 23, 55, 0, 25e7, time.UTC)},
		{"23:49", time.Date(2026, 11, 29, 23, 49, 0, 0, time.UTC)},
		{"00:10:00", time.Date(2026, 11, 30, 0, 10, 0, 0, time.UTC)}, // past midnight
	}
	for _, tt := range tests {
		m, err := filter.ParseMoment(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got := m.At(start); !got.Equal(tt.want) {
			t.Errorf("%q at %s = %s, want %s", tt.in, start, got, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5m", "25:00", "2026-13-01"} {
		if _, err := filter.ParseMoment(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseNamespacesAcceptsReadlinkForm(t *testing.T) {
	got, err := filter.ParseNamespaces([]string{"4026531833", "net:[4026532500]"})
	if err != nil || len(got) != 2 || got[0] != 4026531833 || got[1] != 4026532500 {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := filter.ParseNamespaces([]string{"abc"}); err == nil {
		t.Error("accepted abc")
	}
}
