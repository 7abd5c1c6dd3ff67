package container

import (
	"reflect"
	"slices"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestProcCgroupPaths(t *testing.T) {
	id := fakeID("x")
	tests := []struct {
		name, data string
		paths      []string
		v2         string
	}{
		{"cgroup v2 only", "0::/system.slice/docker-" + id + ".scope\n",
			[]string{"/system.slice/docker-" + id + ".scope"}, "/system.slice/docker-" + id + ".scope"},
		{"cgroup v1: systemd's hierarchy first", "4:memory:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n",
			[]string{"/docker/" + id, "/docker/" + id}, ""},
		{"hybrid: v2 first even when it is the root", "9:name=systemd:/web\n4:memory:/a/web\n0::/\n",
			[]string{"/", "/web", "/a/web"}, "/"},
		{"garbage lines are skipped", "junk\n3:cpu\n\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths, v2 := Paths(tt.data)
			if !slices.Equal(paths, tt.paths) || v2 != tt.v2 {
				t.Errorf("got %q, %q; want %q, %q", paths, v2, tt.paths, tt.v2)
			}
		})
	}
}

func TestClassifierFindsTheContainerInAV1Hierarchy(t *testing.T) {
	id := fakeID("x")
	c := NewClassifier(t.TempDir())
	got := c.Process("9:name=systemd:/user.slice/session-1.scope\n4:memory:/process_api/x/" + id + "\n0::/\n")
	if want := (&event.Container{ID: id, Runtime: "oci"}); !reflect.DeepEqual(got.Container, want) {
		t.Errorf("got %+v, want %+v", got.Container, want)
	}
}

// ProcessFile answers as Process does, and a file it has seen costs no
// allocation.
func TestClassifierProcessFileRemembers(t *testing.T) {
	id := fakeID("y")
	c := NewClassifier(t.TempDir())
	data := []byte("4:memory:/docker/" + id + "\n0::/\n")
	if got, want := c.ProcessFile(data), c.Process(string(data)); !reflect.DeepEqual(got, want) || got.Container == nil {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if allocs := testing.AllocsPerRun(100, func() { c.ProcessFile(data) }); allocs != 0 {
		t.Errorf("%v allocations for a file seen", allocs)
	}
	if got := c.ProcessFile([]byte("4:memory:/user.slice\n0::/\n")); got.Container != nil {
		t.Errorf("outside containers: got %+v", got.Container)
	}
}
