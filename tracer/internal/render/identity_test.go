package render

import (
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

// A container the runtime named reads by its pod and name, or its name,
// piped, fitted to 80 columns, and in full in the wide form.
func TestContainersReadByTheirRuntimeNames(t *testing.T) {
	pod := &event.Pod{Name: "web-7d9f", Namespace: "shop", UID: "5b1e8a2c-0d4f-4c7e-9a61-3f2b7c9d8e10"}
	nginx := &event.Container{ID: "0fcbcb6cdc38a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a", Runtime: "containerd",
		Name: "nginx", Image: "docker.io/library/nginx:1.27", Pod: pod}
	podNet := &event.Container{ID: pod.UID, Runtime: "kubernetes", Pod: pod}
	webfront := &event.Container{ID: "22a3423b7ec9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a", Runtime: "docker",
		Name: "webfront", Image: "nstrace/busybox:test"}
	exec := &event.Event{Time: t0, Kind: event.Setns, Pid: 4242, Tid: 4242, Comm: "runc:[2:INIT]", Container: nginx,
		Changes: []event.Change{{Type: event.Net, Action: event.Join, From: 4026531840, To: 4026532500,
			Name: "cni-77285983-386d-cc07-f20e-094a9d3da44f", Container: podNet}}}
	run := &event.Event{Time: t0, Kind: event.Unshare, Pid: 77, Tid: 77, Comm: "unshare", Container: webfront,
		Changes: []event.Change{{Type: event.UTS, Action: event.Create, From: 4026531838, To: 4026532600}}}
	checkLines(t, linesOf(t, TextOptions{}, exec, run), []string{
		`03:38:18.123    4242 runc:[2:INIT]   setns   net→ 4026532500 "cni-77285983-386d-cc07-f20e-094a9d3da44f" pod shop/web-7d9f in pod shop/web-7d9f/nginx`,
		`03:38:18.123      77 unshare         unshare uts+ 4026532600 in ctr webfront`,
	})
	checkLines(t, linesOf(t, TextOptions{Width: 80}, exec, run), []string{
		`03:38:18.123    4242 runc:[2:INIT]   setns   +1 more in pod shop/web-7d…`,
		`03:38:18.123      77 unshare         unshare uts+ 4026532600 in ctr webfront`,
	})
	checkLines(t, linesOf(t, TextOptions{Format: Wide}, run), []string{
		`03:38:18.123456      77       0     0 unshare          unshare uts+ 4026532600 from 4026531838 in docker ` + webfront.ID +
			` "webfront" image "nstrace/busybox:test"`,
	})
}
