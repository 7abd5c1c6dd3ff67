package report

import (
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// The runtime's names label the lanes and the report's containers: a
// pod's network namespace reads as the pod, a container's own namespace
// as the pod's container, a docker container by its name.
func TestLanesAndContainersCarryRuntimeNames(t *testing.T) {
	pod := &event.Pod{Name: "web-7d9f", Namespace: "shop", UID: "5b1e8a2c-0d4f-4c7e-9a61-3f2b7c9d8e10"}
	podNet := &event.Container{ID: pod.UID, Runtime: "kubernetes", Pod: pod}
	nginx := &event.Container{ID: "0fcbcb6cdc38", Runtime: "containerd", Name: "nginx", Image: "nginx:1.27", Pod: pod}
	webfront := &event.Container{ID: "22a3423b7ec9", Runtime: "docker", Name: "webfront", Image: "nstrace/busybox:test"}
	b := NewBuilder(Options{})
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	write(t, b,
		&event.Event{Time: at(1), Kind: event.Setns, Pid: 3, Comm: "runc:[1:CHILD]", Container: nginx, Changes: []event.Change{
			{Type: event.Net, Action: event.Join, From: 4026531833, To: 4026532200, Name: "cni-77285983", Container: podNet}}},
		&event.Event{Time: at(2), Kind: event.Unshare, Pid: 3, Comm: "runc:[1:CHILD]", Container: nginx, Changes: []event.Change{
			{Type: event.Mnt, Action: event.Create, From: 4026531832, To: 4026532201, Container: nginx}}},
		&event.Event{Time: at(3), Kind: event.Unshare, Pid: 4, Comm: "runc:[1:CHILD]", Container: webfront, Changes: []event.Change{
			{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532202, Container: webfront}}})
	r := b.Report()
	want := "group net\n  lane net 4026531833 host: no marks\n  lane net 4026532200 \"cni-77285983\" pod shop/web-7d9f: join 1\n" +
		"group mnt\n  lane mnt 4026532201 pod shop/web-7d9f/nginx: create 1\n" +
		"group uts\n  lane uts 4026532202 ctr webfront: create 1\n"
	if got := structure(r); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
	m := r.head()
	var labels []string
	for _, c := range m.Containers {
		labels = append(labels, c.Label+" "+c.Image+" "+c.Pod)
	}
	wantLabels := []string{"pod shop/web-7d9f/nginx nginx:1.27 shop/web-7d9f", "pod shop/web-7d9f  shop/web-7d9f", "ctr webfront nstrace/busybox:test "}
	if len(labels) != len(wantLabels) {
		t.Fatalf("containers %q, want %q", labels, wantLabels)
	}
	for i := range labels {
		if labels[i] != wantLabels[i] {
			t.Errorf("container %d: %q, want %q", i, labels[i], wantLabels[i])
		}
	}
}
