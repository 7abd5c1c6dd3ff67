package detect_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// sharing edits a runc bundle so that the container has no namespace of
// the given OCI types ("network", "uts", ...): it stays in the host's.
func sharing(types ...string) func(cfg map[string]any) {
	return func(cfg map[string]any) {
		lin := cfg["linux"].(map[string]any)
		var keep []any
		for _, n := range lin["namespaces"].([]any) {
			if !slices.Contains(types, n.(map[string]any)["type"].(string)) {
				keep = append(keep, n)
			}
		}
		lin["namespaces"] = keep
		if slices.Contains(types, "uts") {
			delete(cfg, "hostname") // runc sets none without a uts namespace of its own
		}
	}
}

// ofContainer keeps the container-shares-host-namespace alerts about the
// container with this id.
func ofContainer(alerts []detect.Alert, id string) []detect.Alert {
	var out []detect.Alert
	for _, a := range ofRule(alerts, detect.RuleContainerSharesHostNamespace) {
		if a.Container != nil && a.Container.ID == id {
			out = append(out, a)
		}
	}
	return out
}

// A runc container started while tracing with the host's network
// namespace: one warning naming it and "net", raised on its runtime's
// unshare; a container with namespaces of its own next to it: none.
func TestKernelContainerSharesHostNamespace(t *testing.T) {
	w := startWatch(t)
	suffix := strconv.Itoa(os.Getpid())
	shares := "nstrace-detect-sharesnet-" + suffix
	own := "nstrace-detect-ownnet-" + suffix
	pid := containerWith(t, shares, sharing("network"))
	ownPid := containerWith(t, own, nil)
	hostNet := testenv.NsInode(t, "/proc/self/ns/net")
	if got := testenv.NsInode(t, "/proc/"+strconv.Itoa(pid)+"/ns/net"); got != hostNet {
		t.Fatalf("container %s is in net %d, want the host's %d", shares, got, hostNet)
	}
	if got := testenv.NsInode(t, "/proc/"+strconv.Itoa(ownPid)+"/ns/net"); got == hostNet {
		t.Fatalf("container %s is in the host's net", own)
	}
	alerts := w.stop(t)
	a := sharesAlert(t, alerts, shares, own)
	if a.Severity != detect.Warning || a.Container.Runtime != "runc" || !slices.Equal(a.Shared, []event.NsType{event.Net}) ||
		!slices.Equal(a.Mitre, []string{"T1611"}) {
		t.Errorf("alert: severity %s container %+v shared %v mitre %v", a.Severity, a.Container, a.Shared, a.Mitre)
	}
	want := "ctr " + shares[:12] + "… started in the host's net namespace; set up by "
	if !strings.HasPrefix(a.Message, want) {
		t.Errorf("message %q, want it to start %q", a.Message, want)
	}
	// runc's unshare of the container's namespaces, or, when its process
	// was gone before the event was read, its clone of the container's
	// init.
	tr := a.Trigger
	if tr == nil || tr.UID != 0 || !strings.HasPrefix(tr.Comm, "runc:") || tr.Container == nil || tr.Container.ID != shares {
		t.Fatalf("trigger %+v, want runc's in the container", tr)
	}
	mnt := testenv.NsInode(t, "/proc/"+strconv.Itoa(pid)+"/ns/mnt")
	pidNs := testenv.NsInode(t, "/proc/"+strconv.Itoa(pid)+"/ns/pid")
	switch tr.Kind {
	case event.Unshare:
		if !slices.ContainsFunc(tr.Changes, func(c event.Change) bool {
			return c.Type == event.Mnt && c.Action == event.Create && c.To == mnt
		}) {
			t.Errorf("unshare changes %+v do not create the container's mnt %d", tr.Changes, mnt)
		}
	case event.Clone:
		if int(tr.Pid) != pid || !slices.ContainsFunc(tr.Changes, func(c event.Change) bool {
			return c.Type == event.Pid && c.To == pidNs
		}) {
			t.Errorf("clone of pid %d changes %+v, want the init %d into pid %d", tr.Pid, tr.Changes, pid, pidNs)
		}
	default:
		t.Errorf("trigger kind %s", tr.Kind)
	}
	line := string(a.AppendJSON(nil))
	for _, s := range []string{`"rule":"container-shares-host-namespace"`, `"severity":"warning"`,
		`"container":{"id":"` + shares + `","runtime":"runc"}`, `"host_namespaces":["net"]`, `"mitre":["T1611"]`} {
		if !strings.Contains(line, s) {
			t.Errorf("JSON %s lacks %s", line, s)
		}
	}
}

// Containers running before tracing starts are judged from the inventory:
// one in the host's net and uts namespaces raises one alert naming both,
// with its init; one with namespaces of its own raises none.
func TestKernelContainerSharesHostNamespaceAtStart(t *testing.T) {
	suffix := strconv.Itoa(os.Getpid())
	shares := "nstrace-detect-sharesboth-" + suffix
	own := "nstrace-detect-ownboth-" + suffix
	pid := containerWith(t, shares, sharing("network", "uts"))
	containerWith(t, own, nil)
	w := startWatch(t)
	alerts := w.stop(t)
	a := sharesAlert(t, alerts, shares, own)
	if int(a.Pid) != pid || a.Comm != "sleep" || a.Trigger != nil || a.Severity != detect.Warning ||
		!slices.Equal(a.Shared, []event.NsType{event.Net, event.UTS}) {
		t.Errorf("alert: pid %d comm %q (want %d sleep) trigger %v severity %s shared %v",
			a.Pid, a.Comm, pid, a.Trigger, a.Severity, a.Shared)
	}
	want := "ctr " + shares[:12] + "…, running when tracing started, is in the host's net and uts namespaces; " +
		`its first process is "sleep" (pid ` + strconv.Itoa(pid) + ")"
	if a.Message != want {
		t.Errorf("message %q, want %q", a.Message, want)
	}
	if line := string(a.AppendJSON(nil)); !strings.Contains(line, `"host_namespaces":["net","uts"]`) {
		t.Errorf("JSON %s lacks the namespaces", line)
	}
}

// With docker: `docker run --network host` raises one alert naming the
// docker container and "net"; a container on docker's bridge, none.
func TestKernelDockerContainerSharesHostNetwork(t *testing.T) {
	d := testenv.StartDocker(t)
	image := "nstrace/busybox:shares"
	d.ImportBusybox(t, image, "/bin/sleep", "100000")
	w := startWatch(t)
	host := d.CLI(t, "run", "-d", "--network", "host", image)
	own := d.CLI(t, "run", "-d", image)
	alerts := w.stop(t)
	a := sharesAlert(t, alerts, host, own) // own: on docker's bridge
	if a.Container.Runtime != "docker" || !slices.Equal(a.Shared, []event.NsType{event.Net}) ||
		a.Trigger == nil || a.Trigger.Kind != event.Unshare && a.Trigger.Kind != event.Clone || a.Trigger.Container == nil ||
		a.Trigger.Container.ID != host {
		t.Errorf("alert: container %+v shared %v trigger %+v", a.Container, a.Shared, a.Trigger)
	}
	if !strings.Contains(a.Message, " started in the host's net namespace; set up by ") {
		t.Errorf("message %q", a.Message)
	}
}

// sharesAlert is the one alert raised for container shares, none being
// raised for own, which has namespaces of its own.
func sharesAlert(t *testing.T, alerts []detect.Alert, shares, own string) detect.Alert {
	t.Helper()
	if a := ofContainer(alerts, own); len(a) != 0 {
		t.Errorf("container with its own namespaces raised:\n%s", describe(a))
	}
	got := ofContainer(alerts, shares)
	if len(got) != 1 {
		t.Fatalf("want one alert for %s; got:\n%s", shares, describe(ofRule(alerts, detect.RuleContainerSharesHostNamespace)))
	}
	return got[0]
}
