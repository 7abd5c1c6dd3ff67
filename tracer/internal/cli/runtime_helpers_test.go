package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// What the runtime identity tests (runtime_e2e_test.go,
// runtime_cri_e2e_test.go) read of the binary's output.

// stopCollected stops a tracer whose output log collects, and returns its
// exit status and the rest of its stderr.
func stopCollected(t *testing.T, tr *tracing, log *eventLog) (int, string) {
	t.Helper()
	if err := tr.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(tr.stderr)
	<-log.done
	err := tr.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(rest)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(rest)
}

// rtContainer is a container as the JSON events carry it.
type rtContainer struct {
	ID, Runtime, Name, Image string
	Pod                      *struct {
		Name, Namespace, UID string
		Labels               map[string]string
	}
}

// rtEvent is what these tests read of an event line.
type rtEvent struct {
	Time      time.Time
	Event     string
	Pid       int
	Comm      string
	Error     string
	Container *rtContainer
	Changes   []struct {
		Type, Action, Name string
		To                 uint64
		Host               bool
		Container          *rtContainer
	}
	line string
	got  time.Time // when the test read it
}

// eventLog collects a tracer's JSON lines as they come.
type eventLog struct {
	mu     sync.Mutex
	events []rtEvent
	done   chan struct{}
}

func collect(t *testing.T, r *bufio.Reader) *eventLog {
	l := &eventLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			var ev rtEvent
			if json.Unmarshal([]byte(line), &ev) != nil {
				t.Errorf("not a JSON event: %q", line)
				continue
			}
			if ev.Event == "alert" {
				continue
			}
			ev.line, ev.got = strings.TrimSpace(line), time.Now()
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.mu.Unlock()
		}
	}()
	return l
}

// await returns the events matching want once there is one, waiting up
// to 30 s.
func (l *eventLog) await(t *testing.T, what string, want func(*rtEvent) bool) []rtEvent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if evs := l.matching(want); len(evs) > 0 {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event %s within 30 s; the last events:\n%s", what, l.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail is the last n event lines.
func (l *eventLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.events[max(0, len(l.events)-n):] {
		b.WriteString(ev.line + "\n")
	}
	return b.String()
}

func (l *eventLog) matching(want func(*rtEvent) bool) []rtEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []rtEvent
	for i := range l.events {
		if want(&l.events[i]) {
			out = append(out, l.events[i])
		}
	}
	return out
}

// inContainer matches events of processes in container id.
func inContainer(id string) func(*rtEvent) bool {
	return func(ev *rtEvent) bool { return ev.Container != nil && ev.Container.ID == id }
}

// podWant is the identity a container's events must carry.
type podWant struct {
	runtime, name, image string
	pod, namespace, uid  string
	labels               map[string]string
}

// check fails unless c is exactly the identity w.
func (w podWant) check(t *testing.T, where string, c *rtContainer) {
	t.Helper()
	if c == nil {
		t.Errorf("%s: no container", where)
		return
	}
	if c.Runtime != w.runtime || c.Name != w.name || c.Image != w.image {
		t.Errorf("%s: container %s %q image %q, want %s %q image %q", where, c.Runtime, c.Name, c.Image, w.runtime, w.name, w.image)
	}
	switch {
	case w.pod == "" && c.Pod != nil:
		t.Errorf("%s: pod %+v, want none", where, *c.Pod)
	case w.pod != "" && c.Pod == nil:
		t.Errorf("%s: no pod, want %s/%s", where, w.namespace, w.pod)
	case w.pod != "" && (c.Pod.Name != w.pod || c.Pod.Namespace != w.namespace || c.Pod.UID != w.uid || !maps.Equal(c.Pod.Labels, w.labels)):
		t.Errorf("%s: pod %+v, want %s/%s uid %s labels %v", where, *c.Pod, w.namespace, w.pod, w.uid, w.labels)
	}
}

// replayed replays a session with -o json, and returns its events.
func replayed(t *testing.T, session string, args ...string) []rtEvent {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"replay", "-o", "json", session}, args...)...).Output()
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	var evs []rtEvent
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ev rtEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("replay: %q: %v", line, err)
		}
		if ev.Event == "alert" {
			continue
		}
		ev.line = line
		evs = append(evs, ev)
	}
	return evs
}

// replayText replays a session as text, with filter flags.
func replayText(t *testing.T, session string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"replay", session}, args...)...).Output()
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return string(out)
}

// lsRows runs `nstrace ls` with args and returns its rows that contain
// every one of want.
func lsRows(t *testing.T, want []string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"ls"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ls: %v", err)
	}
	var rows []string
	for _, row := range strings.Split(string(out), "\n") {
		all := true
		for _, w := range want {
			all = all && strings.Contains(row, w)
		}
		if all {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		t.Errorf("ls %v has no row with %q:\n%s", args, want, out)
	}
	return rows
}

// inventoryNamed counts the namespaces of a session's header inventory
// whose container has name.
func inventoryNamed(t *testing.T, session, name string) int {
	t.Helper()
	f, err := os.Open(session)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Inventory struct {
			Namespaces []struct{ Container *rtContainer }
		}
	}
	if err := json.Unmarshal(first, &h); err != nil {
		t.Fatalf("session header: %v", err)
	}
	n := 0
	for _, ns := range h.Inventory.Namespaces {
		if ns.Container != nil && ns.Container.Name == name {
			n++
		}
	}
	return n
}

// startNamed checks the events of a container that started while tracing:
// each has exactly the identity w, but for those that came before the
// runtime answered. The hold-back waits 100 ms for that answer, which a
// loaded machine can exceed (or a flood, whose events release the hold
// by their count): only events before the first named one may keep the
// bare id, never one after it, nor an exec'd process's (execd), which
// came long after the runtime knew the container. There must be events
// of the start besides execd's, and named ones among them.
func startNamed(t *testing.T, evs, execd []rtEvent, w podWant) {
	t.Helper()
	named, bare := 0, 0
	for _, ev := range evs {
		if c := ev.Container; c.Name == "" && c.Image == "" && c.Pod == nil && named == 0 {
			bare++
			continue
		}
		named++
		w.check(t, ev.line, ev.Container)
	}
	for _, ev := range execd {
		w.check(t, "exec: "+ev.line, ev.Container)
	}
	if named <= len(execd) {
		t.Errorf("%d named events of the container's start (%d with the bare id before them), %d of its exec", named, bare, len(execd))
	}
	if bare > 0 {
		t.Logf("%d events of the container's start came before the runtime's answer", bare)
	}
}

// unknownContainer runs a runc container (id) that no runtime knows, until
// the test ends, and returns its nsenter into the host's uts namespace once
// trace has shown it: with the container's id and no name, image or pod.
// The container lives on after its event, so that its state still names it
// a runc container when trace looks.
func unknownContainer(t *testing.T, log *eventLog, id, when string) rtEvent {
	t.Helper()
	bundle := testenv.Bundle(t, "sh", "-c", "nsenter --uts=/proc/1/ns/uts true; read x")
	runc := exec.Command(testenv.RequireTool(t, "runc"), "run", "--bundle", bundle, id)
	hold, _ := runc.StdinPipe()
	if err := runc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Close(); _ = runc.Wait() }) // it exits on EOF
	orphan := log.await(t, "of a container "+when, func(ev *rtEvent) bool {
		return ev.Comm == "nsenter" && ev.Container != nil && ev.Container.ID == id
	})
	if c := orphan[0].Container; c.Name != "" || c.Image != "" || c.Pod != nil {
		t.Errorf("a container no runtime knows: %s", orphan[0].line)
	}
	return orphan[0]
}
