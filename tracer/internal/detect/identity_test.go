package detect

import (
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// Rules see the runtime's names: the pod, its namespace and labels, the
// image; a container outside a pod has an empty pod.
func TestRulesMatchPodsAndImages(t *testing.T) {
	rules, err := ParseRules("rules.yaml", []byte(`
builtin:
  denied-namespace-change: false
rules:
  - name: kube-system-setns
    severity: warning
    message: a kube-system pod joined a namespace
    match: event == "setns" && container.pod.namespace == "kube-system"
  - name: web-image
    severity: info
    match: container.image.startsWith("nginx:") && "app" in container.pod.labels && container.pod.labels["app"] == "web"
  - name: no-pod
    severity: info
    match: container.name == "webfront" && container.pod.name == ""
`))
	if err != nil {
		t.Fatal(err)
	}
	d := New(rules, WithInventory(hostInventory()))
	fired := func(ev *event.Event) []string {
		ev.Time = time.Unix(2000000000, 0)
		var names []string
		for _, a := range d.Check(ev) {
			names = append(names, a.Rule)
		}
		return names
	}
	coredns := &event.Container{ID: "c1", Runtime: "containerd", Name: "coredns", Image: "coredns:1.11",
		Pod: &event.Pod{Name: "coredns-5d78c9869d-x2x4q", Namespace: "kube-system"}}
	nginx := &event.Container{ID: "c2", Runtime: "containerd", Name: "nginx", Image: "nginx:1.27",
		Pod: &event.Pod{Name: "web-7d9f", Namespace: "shop", Labels: map[string]string{"app": "web"}}}
	webfront := &event.Container{ID: "c3", Runtime: "docker", Name: "webfront", Image: "nstrace/busybox:test"}
	for _, c := range []struct {
		ctr  *event.Container
		want string
	}{{coredns, "kube-system-setns"}, {nginx, "web-image"}, {webfront, "no-pod"}} {
		ev := &event.Event{Kind: event.Setns, Pid: 5, Tid: 5, Comm: "sh", Flags: 0x40000000, Container: c.ctr,
			Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026532500, To: 4026532501}}}
		if got := fired(ev); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: rules %v fired, want %s", c.ctr.Name, got, c.want)
		}
	}
}
