package filter

import (
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

func TestPodNamespaceAndImageFilters(t *testing.T) {
	shop := &event.Pod{Name: "web-7d9f", Namespace: "shop"}
	nginx := &event.Container{ID: "c1", Runtime: "containerd", Name: "nginx", Image: "docker.io/library/nginx:1.27", Pod: shop}
	podNet := &event.Container{ID: "u1", Runtime: "kubernetes", Pod: shop}
	webfront := &event.Container{ID: "d1", Runtime: "docker", Name: "webfront", Image: "nstrace/busybox:test"}
	inPod := &event.Event{Kind: event.Setns, Container: nginx}
	joinsPod := &event.Event{Kind: event.Setns, Changes: []event.Change{{Type: event.Net, Container: podNet}}}
	docker := &event.Event{Kind: event.Unshare, Container: webfront}
	host := &event.Event{Kind: event.Unshare}
	all := []*event.Event{inPod, joinsPod, docker, host}
	for _, c := range []struct {
		opts Options
		keep []bool
	}{
		{Options{Pods: []string{"shop/web-7d9f"}}, []bool{true, true, false, false}},
		{Options{Pods: []string{"shop/web-*"}}, []bool{true, true, false, false}},
		{Options{Pods: []string{"web-7d9f"}}, []bool{true, true, false, false}},
		{Options{Pods: []string{"kube-system/*"}}, []bool{false, false, false, false}},
		{Options{K8sNamespaces: []string{"sh*"}}, []bool{true, true, false, false}},
		{Options{Images: []string{"nginx:*"}}, []bool{true, false, false, false}},
		{Options{Images: []string{"*busybox*"}}, []bool{false, false, true, false}},
		{Options{Images: []string{"docker.io/library/nginx:1.27"}, Pods: []string{"shop/*"}}, []bool{true, false, false, false}},
	} {
		f, err := New(c.opts)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range all {
			if got := f.Keep(ev); got != c.keep[i] {
				t.Errorf("%s: event %d kept %v, want %v", f, i, got, c.keep[i])
			}
		}
	}
	for _, bad := range []Options{{Pods: []string{"shop/"}}, {Pods: []string{"/x"}}, {Images: []string{"["}}, {K8sNamespaces: []string{"a["}}} {
		if _, err := New(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
