package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/testenv"
)

// lsns-style habits of ls, checked against lsns and /proc: -p PID, a
// namespace argument, -T, the command line, the holder of an open fd.

// sleeper runs `unshare FLAGS sleep 1000` and returns its pid (unshare
// execs sleep, or with -f forks it: then the child's).
func sleeper(t *testing.T, flags ...string) int {
	t.Helper()
	cmd := exec.Command("unshare", append(flags, "sleep", "1000")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	// Wait (bounded) until sleep runs: its command line says so.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if pids, _ := exec.Command("pgrep", "-P", strconv.Itoa(pid), "-x", "sleep").Output(); len(pids) > 0 {
			pid, _ = strconv.Atoi(strings.Fields(string(pids))[0])
			break
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasPrefix(string(b), "sleep\x00") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sleep did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return pid
}

// nsOf is the inode /proc/PID/ns/TYPE names.
func nsOf(t *testing.T, pid int, typ string) string {
	t.Helper()
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, typ))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(link, typ+":["), "]")
}

// treeParents reads a tree as lsns -T and ls -T draw it: each row's
// inode to its parent row's ("" at the top).
func treeParents(t *testing.T, out string) map[string]string {
	t.Helper()
	parent := map[string]string{}
	row := regexp.MustCompile(`^([│├└─ ]*)(\d+) `)
	var stack []string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n")[1:] {
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("tree row %q", line)
		}
		depth := len([]rune(m[1])) / 2
		stack = append(stack[:depth], m[2])
		if depth > 0 {
			parent[m[2]] = stack[depth-1]
		} else {
			parent[m[2]] = ""
		}
	}
	return parent
}

func TestLsTaskNamespaceAndTreeAgreeWithLsns(t *testing.T) {
	testenv.RequireTool(t, "lsns")
	pid := sleeper(t, "-U", "-n")
	userns, netns := nsOf(t, pid, "user"), nsOf(t, pid, "net")

	// -p PID: the namespaces lsns -p lists, as (inode, type).
	want, err := exec.Command("lsns", "-p", strconv.Itoa(pid), "-n", "-r", "-o", "NS,TYPE").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := nstrace(t, nil, "ls", "-p", strconv.Itoa(pid), "-o", "json")
	if code != 0 {
		t.Fatalf("ls -p: exit %d: %s", code, stderr)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var n struct {
			Inode uint64 `json:"inode"`
			Type  string `json:"type"`
		}
		if err := json.Unmarshal([]byte(l), &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", n.Inode, n.Type))
	}
	wantRows := strings.Split(strings.TrimSpace(string(want)), "\n")
	sort.Strings(got)
	sort.Strings(wantRows)
	if strings.Join(got, ",") != strings.Join(wantRows, ",") {
		t.Errorf("ls -p %d: %v\nlsns -p: %v", pid, got, wantRows)
	}

	// NS: the one namespace, with the command line as lsns shows it.
	out, _, code = nstrace(t, nil, "ls", netns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	lsnsCmd, _ := exec.Command("lsns", "-p", strconv.Itoa(pid), "-n", "-t", "net", "-o", "COMMAND").Output()
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(strings.TrimSpace(lines[1]), netns+" net ") ||
		!strings.HasSuffix(lines[1], " "+strings.TrimSpace(string(lsnsCmd))) || strings.TrimSpace(string(lsnsCmd)) != "sleep 1000" {
		t.Errorf("ls %s: exit %d\n%s\nlsns COMMAND %q", netns, code, out, lsnsCmd)
	}
	if out, _, _ := nstrace(t, nil, "ls", "net:["+netns+"]", "-o", "json"); strings.Count(out, "\n") != 1 || !strings.Contains(out, `"inode":`+netns+`,`) {
		t.Errorf("ls net:[%s]: %s", netns, out)
	}

	// -T: our net namespace under our user namespace, under the host's,
	// as in lsns -T.
	out, stderr, code = nstrace(t, nil, "ls", "-T")
	if code != 0 {
		t.Fatalf("ls -T: exit %d: %s", code, stderr)
	}
	ours := treeParents(t, out)
	lsnsTree, err := exec.Command("lsns", "-T").Output()
	if err != nil {
		t.Fatal(err)
	}
	theirs := treeParents(t, string(lsnsTree))
	hostUser := nsOf(t, os.Getpid(), "user")
	if ours[netns] != userns || ours[userns] != hostUser || ours[hostUser] != "" ||
		theirs[netns] != ours[netns] || theirs[userns] != ours[userns] {
		t.Errorf("ls -T: net %s under %q, user %s under %q; lsns -T: %q, %q\n%s",
			netns, ours[netns], userns, ours[userns], theirs[netns], theirs[userns], out)
	}
}

// --tree=parent draws a new pid namespace under the one its creator is in.
func TestLsTreeParentDrawsThePidHierarchy(t *testing.T) {
	testenv.RequireTool(t, "lsns")
	pid := sleeper(t, "-p", "-f", "--kill-child")
	child, host := nsOf(t, pid, "pid"), nsOf(t, os.Getpid(), "pid")
	out, stderr, code := nstrace(t, nil, "ls", "--tree=parent", "--type", "pid")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	parents := treeParents(t, out)
	if child == host || parents[child] != host {
		t.Errorf("pid %s drawn under %q, want the host's %s:\n%s", child, parents[child], host, out)
	}
	lsnsTree, err := exec.Command("lsns", "--tree=parent", "-t", "pid").Output()
	if err != nil {
		t.Fatal(err)
	}
	if theirs := treeParents(t, string(lsnsTree)); theirs[child] != parents[child] {
		t.Errorf("lsns -T parent puts %s under %q", child, theirs[child])
	}
}

// A namespace only an open descriptor keeps alive names the process
// holding it: here, this test.
func TestLsNamesTheHolderOfAnOpenNamespace(t *testing.T) {
	testenv.RequireKernel(t)
	cmd := exec.Command("unshare", "-u", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var f *os.File
	for deadline := time.Now().Add(5 * time.Second); f == nil; {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)); strings.HasPrefix(string(b), "sleep\x00") {
			var err error
			if f, err = os.Open(fmt.Sprintf("/proc/%d/ns/uts", cmd.Process.Pid)); err != nil {
				t.Fatal(err)
			}
		} else if time.Now().After(deadline) {
			t.Fatal("sleep did not start")
		}
	}
	defer f.Close()
	uts := nsOf(t, cmd.Process.Pid, "uts")
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	out, stderr, code := nstrace(t, nil, "ls", uts)
	want := fmt.Sprintf(" (open fd of %d %s", os.Getpid(), os.Args[0])
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("exit %d, stderr %q:\n%s\nwant a row with %q", code, stderr, out, want)
	}
}

func TestLsBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ls", "foo"}, 2, `nstrace: ls "foo": want a namespace inode (4026531840, net:[4026531840]) or a type (cgroup,ipc,mnt,net,pid,time,user,uts)`},
		{[]string{"ls", "net", "uts"}, 2, `nstrace: ls takes one namespace, got "net" and "uts"`},
		{[]string{"ls", "--tree=sideways"}, 2, `nstrace: --tree "sideways": want owner or parent`},
		{[]string{"ls", "-T", "-o", "json"}, 2, `nstrace: --tree draws text: it cannot be -o json`},
		{[]string{"ls", "-p", "x"}, 2, `nstrace: invalid argument "x" for "-p, --task" flag: strconv.ParseUint: parsing "x": invalid syntax`},
		{[]string{"ls", "-p", "4294967295"}, 1, `nstrace: ls -p 4294967295: no such process`},
	} {
		stdout, stderr, code := nstrace(t, nil, tc.args...)
		if code != tc.code || stdout != "" || stderr != tc.want+"\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, stdout, stderr, tc.code, tc.want)
		}
	}
}
