package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ls and report run through the built binary, as a user runs them; neither
// needs privileges.

// Bad usage: one line naming what is wrong, and exit status 2.
func TestLsAndReportBadUsageGetOneLineAndStatus2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "\x1b[2J", "bar"}, `nstrace: ls takes one namespace, got "\x1b[2J" and "bar"` + "\n"},
		{[]string{"ls", "-o", "yaml"}, `nstrace: unknown output format "yaml" (want text or json)` + "\n"},
		{[]string{"report"}, "nstrace: report needs a session file: nstrace report FILE... [-w REPORT.html]\n"},
		{[]string{"report", "-w", "x.html"}, "nstrace: report needs a session file: nstrace report FILE... [-w REPORT.html]\n"},
	} {
		stdout, stderr, code := nstrace(t, nil, tc.args...)
		if code != 2 || stderr != tc.want || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want 2 and %q", tc.args, code, stderr, stdout, tc.want)
		}
	}
}

// ls -o json lists this process's own net namespace, with the inode
// /proc/self/ns/net shows, and --type net lists net namespaces only.
func TestLsListsOurNetNamespace(t *testing.T) {
	link, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	inode, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "net:["), "]"), 10, 32)
	if err != nil {
		t.Fatalf("%s: %v", link, err)
	}
	for _, args := range [][]string{{"ls", "-o", "json"}, {"ls", "-o", "json", "--type", "net"}} {
		stdout, stderr, code := nstrace(t, nil, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
		}
		found, types := 0, map[string]bool{}
		for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
			var ns struct {
				Type      string `json:"type"`
				Inode     uint64 `json:"inode"`
				Processes int    `json:"processes"`
			}
			if err := json.Unmarshal([]byte(line), &ns); err != nil {
				t.Fatalf("%q: %q: %v", args, line, err)
			}
			types[ns.Type] = true
			if ns.Type == "net" && ns.Inode == inode {
				found++
				if ns.Processes < 1 {
					t.Errorf("%q: our net namespace has %d processes", args, ns.Processes)
				}
			}
		}
		if found != 1 {
			t.Errorf("%q: net namespace %d listed %d times:\n%s", args, inode, found, stdout)
		}
		if len(args) == 3 && len(types) < 2 || len(args) == 5 && (len(types) != 1 || !types["net"]) {
			t.Errorf("%q: types %v", args, types)
		}
	}
}

// report draws a recorded session into the page named by -w, and says
// what it drew in one line.
func TestReportWritesAPage(t *testing.T) {
	path := makeSession(t, "demo.jsonl", replayEventsFixture())
	page := filepath.Join(t.TempDir(), "demo.html")
	stdout, stderr, code := nstrace(t, nil, "report", path, "-w", page)
	want := regexp.MustCompile(`^nstrace: ` + regexp.QuoteMeta(page) +
		`: 4 events, 4 namespaces, 1 failed, 4 lost, 1 alerts \(\d+ms\)\n$`)
	if code != 0 || stdout != "" || !want.MatchString(stderr) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(html), "<!DOCTYPE html>\n") || !strings.HasSuffix(strings.TrimSpace(string(html)), "</html>") {
		t.Errorf("not a whole page: %q … %q", html[:min(len(html), 40)], html[max(0, len(html)-40):])
	}
	for _, s := range []string{"elsewhere", "demo.jsonl", `\x1b[2J`} {
		if !strings.Contains(string(html), s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(string(html), "\x1b") {
		t.Error("an escape character reached the page raw")
	}
	// -w - writes the same page to stdout; only the time it was made differs.
	stdout, stderr, code = nstrace(t, nil, "report", path, "-w", "-")
	made := regexp.MustCompile(`report made \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`)
	if code != 0 || stderr != "" || made.ReplaceAllString(stdout, "") != made.ReplaceAllString(string(html), "") {
		t.Errorf("-w -: exit %d, stderr %q, %d bytes unlike the file's %d", code, stderr, len(stdout), len(html))
	}
	if n := len(made.FindAllString(string(html), -1)); n != 1 {
		t.Errorf("page says when it was made %d times", n)
	}
}
