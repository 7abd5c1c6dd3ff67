package procfs

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestParseMountinfo(t *testing.T) {
	in := strings.Join([]string{
		`36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`,
		`43 42 0:4 net:[4026532177] /run/netns/a\040b rw shared:2 master:7 - nsfs nsfs rw`,
		`44 42 0:4 net:[4026532178] /run/netns/tab\011nl\012bs\134 rw - nsfs nsfs rw`,
		"45 42 0:4 net:[4026532179] /run/netns/\x1b]0;x\a rw - nsfs nsfs rw",
		`46 42 0:4 net:[4026532180] /run/netns/odd\04 rw - nsfs nsfs rw`,
		`short line`,
		`x 42 0:4 / /a rw - tmpfs tmpfs rw`,
		`47 42 0:4 / /no/separator rw shared:1 tmpfs tmpfs rw`,
		`48 1 0:5 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw`,
	}, "\n")
	mounts, err := ParseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var points []string
	for _, m := range mounts {
		points = append(points, m.Point)
	}
	wantPoints := []string{"/mnt2", "/run/netns/a b", "/run/netns/tab\tnl\nbs\\", "/run/netns/\x1b]0;x\a",
		`/run/netns/odd\04`, "/sys/fs/cgroup"}
	if !slices.Equal(points, wantPoints) {
		t.Errorf("mount points = %q, want %q", points, wantPoints)
	}
	if m := mounts[0]; m.ID != 36 || m.Parent != 35 || m.Root != "/mnt1" || m.FSType != "ext3" || m.Source != "/dev/root" {
		t.Errorf("first mount = %+v", m)
	}
	got := NsfsMounts(mounts)
	want := []NsfsMount{{event.Net, 4026532177, "/run/netns/a b"}, {event.Net, 4026532178, "/run/netns/tab\tnl\nbs\\"},
		{event.Net, 4026532179, "/run/netns/\x1b]0;x\a"}, {event.Net, 4026532180, `/run/netns/odd\04`}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NsfsMounts = %+v, want %+v", got, want)
	}
}

func TestParseNsLink(t *testing.T) {
	tests := []struct {
		in   string
		typ  event.NsType
		ino  uint32
		good bool
	}{
		{"net:[4026532177]", event.Net, 4026532177, true},
		{"pid:[4026531836]", event.Pid, 4026531836, true},
		{"pid_for_children:[1]", 0, 0, false},
		{"socket:[12345]", 0, 0, false},
		{"net:[99999999999]", 0, 0, false},
		{"net:[0]", 0, 0, false},
		{"net:[12", 0, 0, false},
		{"/dev/null", 0, 0, false},
	}
	for _, tt := range tests {
		typ, ino, good := ParseNsLink(tt.in)
		if typ != tt.typ || ino != tt.ino || good != tt.good {
			t.Errorf("ParseNsLink(%q) = %v %d %v", tt.in, typ, ino, good)
		}
	}
}
