package detect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer"
	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
	"github.com/nstrace/nstrace/tracer/internal/resolve"
	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// The test binary doubles as a helper process: with NSTRACE_DETECT_HELPER
// set, it runs that instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("NSTRACE_DETECT_HELPER"); mode != "" {
		if err := runHelper(mode); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper "denied": as uid 65534, try to unshare a network namespace five
// times and to setns into ours, all refused, from one process.
func runHelper(mode string) error {
	if mode != "denied" {
		return fmt.Errorf("unknown helper mode %q", mode)
	}
	if err := syscall.Setgid(65534); err != nil {
		return err
	}
	if err := syscall.Setuid(65534); err != nil {
		return err
	}
	for range 5 {
		if err := unix.Unshare(unix.CLONE_NEWNET); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("unshare as nobody: %v, want EPERM", err)
		}
	}
	if err := unix.Setns(3, unix.CLONE_NEWNET); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("setns as nobody: %v, want EPERM", err)
	}
	return nil
}

// watch traces live as nstrace trace does (resolver, then detector) and
// keeps every alert.
type watch struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	alerts []detect.Alert
	d      *detect.Detector
}

// startWatch watches with the built-ins, every alert raised on its own;
// WithRepeatWindow among opts folds them as nstrace does.
func startWatch(t *testing.T, opts ...detect.Option) *watch {
	t.Helper()
	return startWatchRules(t, nil, opts...)
}

// startWatchRules is startWatch with a rule set (nil: the built-ins).
func startWatchRules(t *testing.T, rules *detect.Rules, opts ...detect.Option) *watch {
	t.Helper()
	testenv.RequireKernel(t)
	inv, err := inventory.Scan(inventory.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := resolve.New(inv)
	if len(opts) == 0 {
		opts = []detect.Option{detect.WithoutFolding()}
	}
	d := detect.New(rules, append(opts, detect.WithNamespaces(r), detect.WithInventory(inv), detect.WithProc("/"))...)
	tr, err := tracer.Open(tracer.Options{})
	if err != nil {
		t.Fatalf("open tracer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watch{cancel: cancel, done: make(chan error, 1), d: d}
	go func() {
		w.done <- tr.Run(ctx, func(ev *event.Event) error {
			r.Resolve(ev)
			as := d.Check(ev)
			w.mu.Lock()
			w.alerts = append(w.alerts, as...)
			w.mu.Unlock()
			return nil
		}, nil)
		tr.Close()
	}()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop detaches, drains and returns every alert raised.
func (w *watch) stop(t *testing.T) []detect.Alert {
	t.Helper()
	if w.cancel != nil {
		w.cancel()
		if err := <-w.done; err != nil {
			t.Errorf("tracer run: %v", err)
		}
		w.cancel = nil
		w.alerts = append(w.alerts, w.d.Close()...) // the stream ended
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.alerts
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// container runs a runc container (busybox sh, then sleep) until the test
// ends and returns its init's pid.
func container(t *testing.T, id string) int {
	t.Helper()
	return containerWith(t, id, nil)
}

// containerWith is container with its config.json edited first (nil: as
// runc spec makes it).
func containerWith(t *testing.T, id string, edit func(cfg map[string]any)) int {
	t.Helper()
	testenv.RequireTool(t, "runc")
	bundle := testenv.Bundle(t, "/bin/sleep", "1000")
	if edit != nil {
		testenv.EditBundle(t, bundle, edit)
	}
	// Detached, the container keeps the stdio it is given: a pipe would
	// never close. Its errors go to a file.
	errFile, err := os.Create(filepath.Join(t.TempDir(), "runc.err"))
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	rc := exec.Command("runc", "run", "-d", "-b", bundle, id)
	rc.Stderr = errFile
	if err := rc.Run(); err != nil {
		msg, _ := os.ReadFile(errFile.Name())
		t.Fatalf("runc run: %v: %s", err, msg)
	}
	// Best effort: a container left behind fails no assertion of this test.
	t.Cleanup(func() { _ = exec.Command("runc", "delete", "-f", id).Run() })
	var state struct{ Pid int }
	if err := json.Unmarshal([]byte(run(t, "runc", "state", id)), &state); err != nil || state.Pid == 0 {
		t.Fatalf("runc state %s: %v", id, err)
	}
	return state.Pid
}

func ofRule(alerts []detect.Alert, rule string) []detect.Alert {
	var out []detect.Alert
	for _, a := range alerts {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// mine keeps the alerts this test raised. Tests in other packages run at
// the same time and make unprivileged (uid 65534) attempts of their own:
// here every unprivileged process that may raise one is in pids, or is a
// child of one. Root's alerts all count, as root's ordinary work must stay
// quiet whoever does it; but not container-shares-host-namespace, about
// containers that other packages' tests start (with --network host) and
// that no test here makes unless it looks for that rule.
func mine(alerts []detect.Alert, pids ...int) []detect.Alert {
	var out []detect.Alert
	for _, a := range alerts {
		if a.Rule == detect.RuleContainerSharesHostNamespace {
			continue
		}
		ok := a.Trigger.UID == 0
		for _, pid := range pids {
			ok = ok || int(a.Pid) == pid || int(a.Trigger.Ppid) == pid
		}
		if ok {
			out = append(out, a)
		}
	}
	return out
}

// started runs a command to its end, as run does, and returns its pid.
func started(t *testing.T, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return cmd.Process.Pid
}

func describe(alerts []detect.Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		b.Write(a.AppendText(nil, false))
		b.WriteByte('\n')
	}
	return b.String()
}

// ordinaryWork is what must never raise an alert: ip netns add/exec/del,
// `ip netns add` from a private mount namespace, unshare and nsenter from
// the host into new namespaces, runc exec. (nsenter from the host into a
// container is host-process-enters-container.)
func ordinaryWork(t *testing.T, ctrID string, ctrPid int) {
	t.Helper()
	name := "nstrace-detect-" + strconv.Itoa(os.Getpid())
	run(t, "ip", "netns", "add", name)
	run(t, "ip", "netns", "exec", name, "true")
	run(t, "ip", "netns", "del", name)
	run(t, "unshare", "-m", "sh", "-c", "ip netns add "+name+" && ip netns del "+name)
	run(t, "unshare", "-n", "-u", "-i", "-m", "-p", "-f", "true")
	run(t, "runc", "exec", ctrID, "/bin/true")
}

// notEntries leaves out host-process-enters-container: tests that get into
// a container with nsenter from the host raise it, as they should
// (TestKernelHostProcessEntersContainer checks it).
func notEntries(alerts []detect.Alert) []detect.Alert {
	var out []detect.Alert
	for _, a := range alerts {
		if a.Rule != detect.RuleHostProcessEntersContainer {
			out = append(out, a)
		}
	}
	return out
}

// A process in a container that uses a kept descriptor of the host's
// network namespace to join it: critical, once, naming the container;
// ordinary container work around it stays quiet.
func TestKernelHostNamespaceEntry(t *testing.T) {
	testenv.RequireTool(t, "nsenter")
	w := startWatch(t)
	id := "nstrace-detect-host-" + strconv.Itoa(os.Getpid())
	pid := container(t, id)
	ordinaryWork(t, id, pid)
	// fd 3 of util-linux nsenter is the host's net namespace; busybox
	// nsenter, inside the container's namespaces, joins it.
	hostNet := testenv.NsInode(t, "/proc/self/ns/net")
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-a", "--", "/bin/nsenter", "--net=/proc/self/fd/3",
		"/bin/readlink", "/proc/self/ns/net")
	f, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != fmt.Sprintf("net:[%d]", hostNet) {
		t.Fatalf("escape did not reach the host's net: %v: %s", err, out)
	}
	alerts := noFloods(notEntries(mine(w.stop(t))))
	host := ofRule(alerts, detect.RuleHostNamespaceEntry)
	if len(host) != 1 || len(alerts) != 1 {
		t.Fatalf("want exactly one alert, host-namespace-entry; got:\n%s", describe(alerts))
	}
	a := host[0]
	if a.Severity != detect.Critical || a.Comm != "nsenter" || a.Container == nil || a.Container.ID != id {
		t.Errorf("alert: severity %s comm %q container %+v", a.Severity, a.Comm, a.Container)
	}
	tr := a.Trigger
	if tr == nil || tr.Kind != event.Setns || len(tr.Changes) != 1 || tr.Changes[0].Type != event.Net ||
		tr.Changes[0].To != hostNet || !tr.Changes[0].Host {
		t.Errorf("trigger %+v, want the setns into net %d (host)", tr, hostNet)
	}
	if !strings.Contains(a.Message, "joined the host's net namespace") {
		t.Errorf("message %q", a.Message)
	}
	line := string(a.AppendJSON(nil))
	for _, s := range []string{`"event":"alert"`, `"rule":"host-namespace-entry"`, `"severity":"critical"`,
		`"container":{"id":"` + id + `","runtime":"runc"}`, `"trigger":{`} {
		if !strings.Contains(line, s) {
			t.Errorf("JSON %s lacks %s", line, s)
		}
	}
}

// nsenter from inside container A (its uts, ipc, net and pid namespaces)
// into container B's network namespace.
func TestKernelCrossContainerJoin(t *testing.T) {
	testenv.RequireTool(t, "nsenter")
	w := startWatch(t)
	idA := "nstrace-detect-a-" + strconv.Itoa(os.Getpid())
	idB := "nstrace-detect-b-" + strconv.Itoa(os.Getpid())
	pidA, pidB := container(t, idA), container(t, idB)
	ordinaryWork(t, idA, pidA)
	run(t, "nsenter", "-t", strconv.Itoa(pidA), "-u", "-i", "-n", "-p", "--",
		"nsenter", "-t", strconv.Itoa(pidB), "-n", "true")
	alerts := noFloods(notEntries(mine(w.stop(t))))
	cross := ofRule(alerts, detect.RuleCrossContainerJoin)
	if len(cross) != 1 || len(alerts) != 1 {
		t.Fatalf("want exactly one alert, cross-container-join; got:\n%s", describe(alerts))
	}
	a := cross[0]
	if a.Severity != detect.Warning || a.Container == nil || a.Container.ID != idA || a.Joined == nil || a.Joined.ID != idB {
		t.Errorf("alert: severity %s from %+v joined %+v", a.Severity, a.Container, a.Joined)
	}
	if netB := testenv.NsInode(t, fmt.Sprintf("/proc/%d/ns/net", pidB)); a.Trigger.Changes[0].To != netB {
		t.Errorf("trigger joined %d, want B's net %d", a.Trigger.Changes[0].To, netB)
	}
}

// nobody creates a user namespace (and a network namespace with it), then
// a network namespace inside it from a child.
func TestKernelUnprivilegedUserns(t *testing.T) {
	testenv.RequireTool(t, "setpriv")
	w := startWatch(t)
	nobody := []string{"--reuid=65534", "--regid=65534", "--clear-groups"}
	first := started(t, "setpriv", append(nobody, "unshare", "-U", "-n", "true")...)
	second := started(t, "setpriv", append(nobody, "unshare", "-U", "-r", "sh", "-c", "unshare -m true")...)
	alerts := mine(w.stop(t), first, second)
	userns := ofRule(alerts, detect.RuleUnprivilegedUserns)
	if len(userns) != 3 || len(alerts) != 3 {
		t.Fatalf("want three unprivileged-userns alerts; got:\n%s", describe(alerts))
	}
	for i, want := range []struct {
		created []event.NsType
		follow  bool
	}{{[]event.NsType{event.Net}, false}, {nil, false}, {[]event.NsType{event.Mnt}, true}} {
		a := userns[i]
		if a.Severity != detect.Warning || a.Trigger.UID != 65534 || a.Userns == 0 ||
			!slices.Equal(a.Created, want.created) {
			t.Errorf("alert %d: severity %s uid %d userns %d created %v, want created %v: %s",
				i, a.Severity, a.Trigger.UID, a.Userns, a.Created, want.created, a.Message)
		}
		if got := strings.Contains(a.Message, "inside user namespace"); got != want.follow {
			t.Errorf("alert %d: %q", i, a.Message)
		}
	}
	if userns[2].Userns != userns[1].Userns {
		t.Errorf("follow-up names user namespace %d, want %d", userns[2].Userns, userns[1].Userns)
	}
}

// One unprivileged process denied six times: one notice at once, and one
// closing its window with the count.
func TestKernelDeniedNamespaceChange(t *testing.T) {
	w := startWatch(t, detect.WithRepeatWindow(time.Minute))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NSTRACE_DETECT_HELPER=denied")
	f, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.ExtraFiles = []*os.File{f}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	alerts := mine(w.stop(t), cmd.Process.Pid)
	denied := ofRule(alerts, detect.RuleDeniedChange)
	if len(denied) != 2 || len(alerts) != 2 || denied[0].Count != 0 || denied[1].Count != 6 ||
		denied[1].Trigger != denied[0].Trigger || denied[1].Last.Kind != event.Setns {
		t.Fatalf("want one denied-namespace-change alert and one with count 6 ending in a setns; got:\n%s", describe(alerts))
	}
	a := denied[0]
	if a.Severity != detect.Notice || int(a.Pid) != cmd.Process.Pid || a.Trigger.Errno != syscall.EPERM ||
		!strings.Contains(a.Message, "as uid 65534 was denied unshare CLONE_NEWNET: EPERM") {
		t.Errorf("alert: severity %s pid %d (helper %d) errno %v: %s", a.Severity, a.Pid, cmd.Process.Pid, a.Trigger.Errno, a.Message)
	}
}
