package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// nsEvent is what these tests read of a JSON event line.
type nsEvent struct {
	Event   string `json:"event"`
	Pid     int    `json:"pid"`
	Count   uint64 `json:"count"`
	Changes []struct {
		Type, Action, Name string
		To                 uint64
	} `json:"changes"`
}

// nextEvent reads events from r until one satisfies want.
func nextEvent(t *testing.T, r *bufio.Reader, want func(*nsEvent) bool) *nsEvent {
	t.Helper()
	var lost uint64
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("tracer output ended (%d records lost on the way: is something flooding this machine?): %v", lost, err)
		}
		var ev nsEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		lost += ev.Count
		if ev.Event != "alert" && ev.Event != "lost" && want(&ev) {
			return &ev
		}
	}
}

// bounded kills the tracers if the test is not done within a minute, so
// that a missing event fails the test (the output ends) instead of hanging.
func bounded(t *testing.T, trs ...*tracing) {
	timer := time.AfterFunc(time.Minute, func() {
		for _, tr := range trs {
			_ = tr.cmd.Process.Kill() // it may have exited already
		}
	})
	t.Cleanup(func() { timer.Stop() })
}

func inodeOfLink(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// A net namespace bind-mounted well after its create (`ip netns attach`)
// carries the name at its next event, and `ls` lists it with the name.
func TestANetnsAttachedLateIsNamedAtItsNextEvent(t *testing.T) {
	for _, tool := range []string{"unshare", "ip", "nsenter"} {
		testenv.RequireTool(t, tool)
	}
	sh, in, shOut := heldShell(t, `read go; exec unshare --net sh -c 'echo ready; read bye'`)
	tr := startTracing(t, "-o", "json", "--comm", "unshare,nsenter", "--type", "net")
	bounded(t, tr)
	pid := strconv.Itoa(sh.Process.Pid)
	fmt.Fprintln(in, "go")
	if line, _ := shOut.ReadString('\n'); line != "ready\n" {
		t.Fatalf("unshare --net: %q", line)
	}
	ino := inodeOfLink(t, "/proc/"+pid+"/ns/net")
	// The create comes out unnamed once the hold-back has waited its
	// 100 ms for a name in vain: the mount below is late on purpose.
	create := nextEvent(t, tr.stdout, func(ev *nsEvent) bool {
		return ev.Event == "unshare" && len(ev.Changes) == 1 && ev.Changes[0].To == ino
	})
	if c := create.Changes[0]; c.Action != "create" || c.Name != "" {
		t.Fatalf("create: %+v, want an unnamed net create", c)
	}
	name := "e2e-late-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "attach", name, pid).CombinedOutput(); err != nil {
		t.Fatalf("ip netns attach: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() }) // cleanup only
	if out, err := exec.Command("nsenter", "--net=/run/netns/"+name, "true").CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	join := nextEvent(t, tr.stdout, func(ev *nsEvent) bool {
		return ev.Event == "setns" && len(ev.Changes) == 1 && ev.Changes[0].To == ino
	})
	if c := join.Changes[0]; c.Action != "join" || c.Name != name {
		t.Errorf("join: %+v, want a join of net %q", c, name)
	}
	in.Close()
	tr.stop(t)

	out, err := exec.Command(binary, "ls", "-o", "json", "--type", "net").Output()
	if err != nil {
		t.Fatalf("ls: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var n struct {
			Inode uint64   `json:"inode"`
			Names []string `json:"names"`
		}
		if err := json.Unmarshal([]byte(line), &n); err != nil {
			t.Fatalf("ls: %q: %v", line, err)
		}
		if n.Inode == ino {
			if len(n.Names) != 1 || n.Names[0] != name {
				t.Errorf("ls: net %d named %q, want %q", ino, n.Names, name)
			}
			return
		}
	}
	t.Errorf("ls does not list net %d", ino)
}

// Two tracers side by side name every event of an `ip netns add` sequence
// alike, and every create with its name.
func TestTwoTracersNameAnIPNetnsAddSequenceAlike(t *testing.T) {
	// ip under a name of our own, so that the tracers follow only us.
	comm := "nsip-" + strconv.Itoa(os.Getpid()%100000000)
	ip := filepath.Join(t.TempDir(), comm)
	if err := os.Symlink(testenv.RequireTool(t, "ip"), ip); err != nil {
		t.Fatal(err)
	}
	const n = 30
	prefix := "e2e-seq-" + strconv.Itoa(os.Getpid()) + "-"
	t.Cleanup(func() {
		for i := range n {
			_ = exec.Command("ip", "netns", "delete", prefix+strconv.Itoa(i)).Run() // not all were made
		}
	})
	_, in, shOut := heldShell(t, `read go; i=0; while [ $i -lt `+strconv.Itoa(n)+` ]; do `+ip+` netns add `+prefix+`$i || exit 1; i=$((i+1)); done; echo done; read bye`)
	// --type net is filtered in the kernel: other tests' floods of other
	// types cannot crowd our events out of the ring.
	a := startTracing(t, "-o", "json", "--comm", comm, "--type", "net")
	b := startTracing(t, "-o", "json", "--comm", comm, "--type", "net")
	bounded(t, a, b)
	fmt.Fprintln(in, "go")
	if line, _ := shOut.ReadString('\n'); line != "done\n" {
		t.Fatalf("ip netns add: %q", line)
	}
	// Each `ip netns add` is an unshare of net and a setns back.
	read := func(tr *tracing) []string {
		var got []string
		for len(got) < 2*n {
			ev := nextEvent(t, tr.stdout, func(ev *nsEvent) bool { return len(ev.Changes) > 0 })
			for _, c := range ev.Changes {
				got = append(got, fmt.Sprintf("%s %d %s %s %d %q", ev.Event, ev.Pid, c.Type, c.Action, c.To, c.Name))
			}
		}
		return got
	}
	fromA, fromB := read(a), read(b)
	if strings.Join(fromA, "\n") != strings.Join(fromB, "\n") {
		t.Errorf("the tracers differ:\n%s\n---\n%s", strings.Join(fromA, "\n"), strings.Join(fromB, "\n"))
	}
	creates := 0
	for _, line := range fromA {
		if strings.HasPrefix(line, "unshare ") {
			if want := fmt.Sprintf("%q", prefix+strconv.Itoa(creates)); !strings.HasSuffix(line, want) {
				t.Errorf("create %d: %s, want the name %s", creates, line, want)
			}
			creates++
		}
	}
	if creates != n {
		t.Errorf("%d creates seen, want %d", creates, n)
	}
	in.Close()
	a.stop(t)
	b.stop(t)
}
