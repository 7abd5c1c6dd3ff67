package inventory

import (
	"slices"
	"testing"
)

func TestNamesFromNetnsDirectoriesComeFirst(t *testing.T) {
	var n Namespace
	for _, p := range []string{"/tmp/keep", "/run/netns/blue", "/run/netns/blue", "/var/run/netns/blue", "/run/docker/netns/abc"} {
		n.AddMount(p)
	}
	if want := []string{"blue", "abc", "keep"}; !slices.Equal(n.Names, want) {
		t.Errorf("names = %q, want %q", n.Names, want)
	}
	if want := []string{"/tmp/keep", "/run/netns/blue", "/var/run/netns/blue", "/run/docker/netns/abc"}; !slices.Equal(n.Mounts, want) {
		t.Errorf("mounts = %q, want %q", n.Mounts, want)
	}
}
