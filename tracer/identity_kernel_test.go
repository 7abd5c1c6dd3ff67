package tracer_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/proccache"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// procFile reads /proc/PID/NAME.
func procFile(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// procExe is /proc/PID/exe as the kernel shows it, without the mark d_path
// adds to a file no longer linked (memfd), which events leave out.
func procExe(pid int) string {
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	if err != nil {
		return "" // a kernel thread
	}
	return strings.TrimSuffix(exe, " (deleted)")
}

// ancestorsOf walks /proc from pid up, parent first, to the first init of
// a pid namespace, as events report it: at most MaxAncestors, the
// executable's last 127 bytes.
func ancestorsOf(t *testing.T, pid int) (chain []event.Ancestor, cut bool) {
	t.Helper()
	for {
		status := procFile(t, pid, "status")
		ppid, nspid := statusField(status, "PPid:"), statusField(status, "NSpid:")
		if len(chain) == proccache.MaxAncestors {
			return chain, pid != 0
		}
		exe := procExe(pid)
		if len(exe) > 127 {
			exe = exe[len(exe)-127:]
		}
		chain = append(chain, event.Ancestor{Pid: uint32(pid), Comm: strings.TrimSuffix(procFile(t, pid, "comm"), "\n"), Exe: exe})
		if f := strings.Fields(nspid); f[len(f)-1] == "1" {
			return chain, false
		}
		if pid, _ = strconv.Atoi(ppid); pid == 0 {
			return chain, false
		}
	}
}

func statusField(status, key string) string {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// A real `unshare -u --fork`, started by the path /bin/unshare under a login
// uid: its event carries the executable /proc/PID/exe shows, the path it
// was started by, its argv, login uid and effective capabilities exactly
// as /proc has them while it runs, and its ancestry.
func TestUnshareEventCarriesTheProcessAsProcShowsIt(t *testing.T) {
	testenv.RequireTool(t, "unshare")
	c := startCapture(t, tracer.Options{})
	args := []string{"/bin/unshare", "-u", "--fork", "--", "sh", "-c", "read x || :"}
	cmd := exec.Command("sh", append([]string{"-c", `echo 4242 > /proc/self/loginuid && exec "$@"`, "sh"}, args...)...)
	hold, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer func() { hold.Close(); _ = cmd.Wait() }()
	// Its forked child is reading: it has unshared and forked, and waits.
	waitFor(t, func() bool {
		kids, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
		return len(strings.TrimSpace(string(kids))) > 0
	})
	exe := procExe(pid)
	cmdline := strings.Split(strings.TrimSuffix(procFile(t, pid, "cmdline"), "\x00"), "\x00")
	auid, _ := strconv.ParseUint(procFile(t, pid, "loginuid"), 10, 32)
	capEff, _ := strconv.ParseUint(statusField(procFile(t, pid, "status"), "CapEff:"), 16, 64)
	ancestors, cut := ancestorsOf(t, os.Getpid())
	hold.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	evs := where(c.stop(t), func(ev *event.Event) bool { return ev.Kind == event.Unshare && ev.Pid == uint32(pid) })
	if len(evs) != 1 {
		t.Fatalf("%d unshare events by %d, want 1", len(evs), pid)
	}
	ev := evs[0]
	p := ev.Process
	if p == nil {
		t.Fatalf("no process: %s", ev.AppendJSON(nil))
	}
	if !reflect.DeepEqual(cmdline, args) || !reflect.DeepEqual(p.Args, args) {
		t.Errorf("args %q, /proc cmdline %q, want %q", p.Args, cmdline, args)
	}
	if p.Exe != exe || exe == "" {
		t.Errorf("exe %q, /proc/%d/exe %q", p.Exe, pid, exe)
	}
	wantArg := ""
	if exe != "/bin/unshare" {
		wantArg = "/bin/unshare"
	}
	if p.ExeArg != wantArg {
		t.Errorf("exe_arg %q, want %q", p.ExeArg, wantArg)
	}
	if !ev.HasCreds || ev.Auid != 4242 || uint64(ev.Auid) != auid {
		t.Errorf("auid %d, /proc loginuid %d, want 4242", ev.Auid, auid)
	}
	if ev.Caps != capEff {
		t.Errorf("caps %#x, /proc CapEff %#x", ev.Caps, capEff)
	}
	for i := range min(len(ancestors), len(p.Ancestors)) {
		if ancestors[i].Exe == "" && p.Ancestors[i].Exe != "" {
			// /proc does not show this one's exe (e.g. pid 1 in a sandbox): no reference to check against.
			t.Logf("ancestor %d: /proc shows no exe; the event says %q", ancestors[i].Pid, p.Ancestors[i].Exe)
			ancestors[i].Exe = p.Ancestors[i].Exe
		}
	}
	if !reflect.DeepEqual(p.Ancestors, ancestors) {
		t.Errorf("ancestors\n %+v\nwant\n %+v", p.Ancestors, ancestors)
	}
	if got := len(p.Truncated) == 1 && p.Truncated[0] == "ancestors"; got != cut || (!cut && len(p.Truncated) != 0) {
		t.Errorf("truncated %q, ancestry cut: %v", p.Truncated, cut)
	}
	if p.Role != "" {
		t.Errorf("container_role %q for a host process", p.Role)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10000 {
		if cond() {
			return
		}
		_ = unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil)
	}
	t.Fatal("condition not met in 10 s")
}

// setnsExit is a program that joins the namespace file argv[1] names and
// exits at once: the attack's shape, a process gone a moment after its
// call.
const setnsExit = `#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
int main(int argc, char **argv) {
	int fd = open(argv[1], O_RDONLY);
	return fd < 0 || setns(fd, 0) != 0;
}
`

// A program copied to /tmp, started by a relative path, that execs, setns's
// and exits within a millisecond still has its executable, the path it was
// started by, its argv and its parent in the event.
func TestShortLivedProcessKeepsItsIdentity(t *testing.T) {
	gcc := testenv.RequireTool(t, "gcc")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.c"), []byte(setnsExit), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-O2", "-static", "-o", filepath.Join(dir, "x"), filepath.Join(dir, "x.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	holder, _ := holdProcess(t, &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS})
	target := "/proc/" + strconv.Itoa(holder) + "/ns/uts"
	c := startCapture(t, tracer.Options{})
	cmd := exec.Command("./x", target, "second arg")
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		t.Fatalf("./x: %v", err)
	}
	pid := cmd.Process.Pid
	evs := where(c.stop(t), func(ev *event.Event) bool { return ev.Kind == event.Setns && ev.Pid == uint32(pid) })
	if len(evs) != 1 || evs[0].Process == nil {
		t.Fatalf("%d setns events by %d with a process, want 1", len(evs), pid)
	}
	p := evs[0].Process
	exe, err := filepath.EvalSymlinks(filepath.Join(dir, "x"))
	if err != nil {
		t.Fatal(err)
	}
	want := event.Process{Exe: exe, ExeArg: "./x", Args: []string{"./x", target, "second arg"}}
	parent, cut := ancestorsOf(t, os.Getpid())
	want.Ancestors = p.Ancestors
	if cut { // a deep process tree (make under a CI script): the chain is cut
		want.Truncated = []string{"ancestors"}
	}
	if !reflect.DeepEqual(*p, want) {
		t.Errorf("process\n %+v\nwant\n %+v", *p, want)
	}
	if len(p.Ancestors) == 0 || p.Ancestors[0] != parent[0] {
		t.Errorf("ancestors %+v, want the test (%+v) first", p.Ancestors, parent[0])
	}
}
