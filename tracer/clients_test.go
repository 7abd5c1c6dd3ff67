package tracer_test

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// Real clients of these syscalls — util-linux, iproute2, bubblewrap — must
// produce exactly the events that /proc predicts.

// runTool runs a command that ends in readlinkArgs and returns its pid and
// the namespaces it printed.
func runTool(t *testing.T, name string, args ...string) (int, nsSet) {
	t.Helper()
	cmd := exec.Command(testenv.RequireTool(t, name), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return cmd.Process.Pid, parseReadlinks(t, string(out), args)
}

// parseReadlinks reads readlink's lines ("net:[4026532178]"), one per
// /proc/self/ns path in args, in order: the link of pid_for_children says
// "pid:[...]", so the path, not the text, names the type.
func parseReadlinks(t *testing.T, out string, args []string) nsSet {
	t.Helper()
	var types []event.NsType
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "/proc/self/ns/"); ok {
			ty, _ := event.ParseNsType(name)
			types = append(types, ty)
		}
	}
	lines := strings.Fields(out)
	if len(lines) != len(types) {
		t.Fatalf("readlink printed %d lines for %d links: %q", len(lines), len(types), out)
	}
	s := nsSet{}
	for i, line := range lines {
		_, rest, ok := strings.Cut(line, ":[")
		ino, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 32)
		if !ok || err != nil {
			t.Fatalf("unexpected readlink output %q", line)
		}
		s[types[i]] = uint32(ino)
	}
	return s
}

func readlinkArgs(types ...event.NsType) []string {
	args := []string{"readlink"}
	for _, ty := range types {
		args = append(args, "/proc/self/ns/"+ty.String())
	}
	return args
}

// tree keeps the events of a process and of every task it created.
func tree(evs []*event.Event, root int) []*event.Event {
	in := map[uint32]bool{uint32(root): true}
	var out []*event.Event
	for _, ev := range evs {
		if ev.Kind == event.Clone && in[ev.Ppid] {
			in[ev.Pid] = true
		}
		if in[ev.Pid] && ev.Kind != event.Destroy {
			out = append(out, ev)
		}
	}
	return out
}

// wantCreated checks that every namespace that differs between before and
// after was created exactly once by these events, and nothing else was.
func wantCreated(t *testing.T, evs []*event.Event, before, after nsSet) {
	t.Helper()
	created := map[event.NsType][]uint32{}
	for _, ev := range evs {
		for _, c := range ev.Changes {
			if c.Action == event.Create {
				created[c.Type] = append(created[c.Type], c.To)
			}
		}
	}
	for ty, ino := range after {
		want := []uint32(nil)
		if ino != before[ty] {
			want = []uint32{ino}
		}
		if got := created[ty]; !equalInodes(got, want) {
			t.Errorf("%s: created %v, want %v", ty, got, want)
		}
	}
}

func equalInodes(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var allTypes = func() (all []event.NsType) {
	for t := range event.NsType(event.NumNsTypes) {
		all = append(all, t)
	}
	return all
}()

// util-linux unshare with every namespace type and --fork: one unshare
// event creating eight namespaces, and the forked child joining the new
// pid and time namespaces.
func TestUtilLinuxUnshareEveryType(t *testing.T) {
	before := readNs(t, "self")
	c := startCapture(t, tracer.Options{})
	pid, after := runTool(t, "unshare", append([]string{"--fork", "--pid", "--net", "--uts", "--ipc", "--cgroup",
		"--mount", "--time", "--user", "--map-root-user"}, readlinkArgs(allTypes...)...)...)
	evs := tree(c.stop(t), pid)
	if len(evs) != 2 {
		t.Fatalf("got %d events, want unshare + clone", len(evs))
	}
	un, cl := evs[0], evs[1]
	if un.Kind != event.Unshare || un.Pid != uint32(pid) || cl.Kind != event.Clone || cl.Ppid != uint32(pid) {
		t.Fatalf("got %s by %d then %s by %d", un.Kind, un.Pid, cl.Kind, cl.Ppid)
	}
	var want []event.Change
	for _, ty := range []event.NsType{event.Cgroup, event.IPC, event.Mnt, event.Net, event.PidForChildren, event.TimeForChildren, event.User, event.UTS} {
		want = append(want, event.Change{Type: ty, Action: event.Create, From: before[ty], To: after[ty]})
	}
	wantChanges(t, un, want...)
	wantChanges(t, cl,
		event.Change{Type: event.Pid, Action: event.Join, From: before[event.Pid], To: after[event.Pid]},
		event.Change{Type: event.Time, Action: event.Join, From: before[event.Time], To: after[event.Time]})
}

// nsenter into a process's uts and net namespaces joins exactly those.
func TestUtilLinuxNsenterJoinsTheTargetsNamespaces(t *testing.T) {
	before := readNs(t, "self")
	target, tns := holdProcess(t, &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWNET})
	c := startCapture(t, tracer.Options{})
	pid, after := runTool(t, "nsenter", append([]string{"-t", strconv.Itoa(target), "-u", "-n"}, readlinkArgs(allTypes...)...)...)
	joined := map[event.NsType]event.Change{}
	for _, ev := range tree(c.stop(t), pid) {
		if ev.Kind != event.Setns || ev.Pid != uint32(pid) {
			t.Errorf("unexpected event %s", ev.AppendJSON(nil))
		}
		for _, ch := range ev.Changes {
			joined[ch.Type] = ch
		}
	}
	for _, ty := range []event.NsType{event.UTS, event.Net} {
		want := event.Change{Type: ty, Action: event.Join, From: before[ty], To: tns[ty]}
		if got := joined[ty]; got.Type != want.Type || got.Action != want.Action || got.From != want.From || got.To != want.To || after[ty] != tns[ty] {
			t.Errorf("%s: joined %+v, want %+v (nsenter saw %d)", ty, got, want, after[ty])
		}
	}
	if len(joined) != 2 {
		t.Errorf("joined %d types, want 2: %+v", len(joined), joined)
	}
}

// `ip netns add` unshares a net namespace, pins it at /run/netns/NAME and
// returns to the host's; `ip netns exec` joins it and makes a mount namespace.
func TestIPNetnsAddAndExec(t *testing.T) {
	testenv.RequireTool(t, "ip")
	name := "nstrace-test-" + strconv.Itoa(os.Getpid())
	before := readNs(t, "self")
	c := startCapture(t, tracer.Options{})
	addPid, _ := runTool(t, "ip", "netns", "add", name)
	defer func() { _ = exec.Command("ip", "netns", "del", name).Run() }() // cleanup; the test has its verdict
	var st unix.Stat_t
	if err := unix.Stat("/run/netns/"+name, &st); err != nil {
		t.Fatal(err)
	}
	pinned := uint32(st.Ino) // the nsfs bind mount shows the namespace's inode
	execPid, after := runTool(t, "ip", append([]string{"netns", "exec", name}, readlinkArgs(event.Net, event.Mnt)...)...)
	evs := c.stop(t)

	add := where(evs, byPid(addPid))
	if len(add) != 2 {
		t.Fatalf("ip netns add: %d events, want unshare + setns", len(add))
	}
	wantChanges(t, add[0], event.Change{Type: event.Net, Action: event.Create, From: before[event.Net], To: pinned})
	wantChanges(t, add[1], event.Change{Type: event.Net, Action: event.Join, From: pinned, To: before[event.Net]})

	ex := where(evs, byPid(execPid))
	if len(ex) != 2 || ex[0].Kind != event.Setns || ex[1].Kind != event.Unshare {
		t.Fatalf("ip netns exec: %d events, want setns + unshare", len(ex))
	}
	wantChanges(t, ex[0], event.Change{Type: event.Net, Action: event.Join, From: before[event.Net], To: pinned})
	wantChanges(t, ex[1], event.Change{Type: event.Mnt, Action: event.Create, From: before[event.Mnt], To: after[event.Mnt]})
	if after[event.Net] != pinned {
		t.Errorf("ip netns exec ran in net %d, pinned %d", after[event.Net], pinned)
	}
}

// bubblewrap with --unshare-all: every namespace its sandbox has that the
// host does not was created exactly once in bwrap's process tree.
func TestBubblewrapUnshareAll(t *testing.T) {
	before := readNs(t, "self")
	c := startCapture(t, tracer.Options{})
	pid, after := runTool(t, "bwrap", append([]string{"--unshare-all", "--dev-bind", "/", "/"}, readlinkArgs(allTypes...)...)...)
	evs := tree(c.stop(t), pid)
	if len(evs) == 0 {
		t.Fatal("no events from bwrap")
	}
	wantCreated(t, evs, before, after)
}
