package cli

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

// The command-line habits of tcpdump, lsns and kubectl users, through the
// built binary.

// version, -v and --version print the version the binary was built with:
// here what `go build` recorded, read back from the binary itself.
func TestVersionPrintsTheBuildsVersion(t *testing.T) {
	bi, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	want := "nstrace " + buildVersion(bi, true) + " (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	for _, args := range [][]string{{"version"}, {"-v"}, {"--version"}} {
		stdout, stderr, code := nstrace(t, nil, args...)
		if code != 0 || stderr != "" || stdout != want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", args, code, stdout, stderr, want)
		}
	}
	if _, stderr, code := nstrace(t, nil, "version", "extra"); code != 2 || stderr != "nstrace: unknown command \"extra\" for \"nstrace version\"\n" {
		t.Errorf("version extra: exit %d, stderr %q", code, stderr)
	}
}

// `make build` stamps git describe's answer; a plain go build of a
// checkout says the commit; an installed module says its version.
func TestMakeBuildStampsTheVersion(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	describe, err := exec.Command("git", "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Skipf("git describe: %v", err) // not a checkout
	}
	out := filepath.Join(t.TempDir(), "nstrace")
	b, err := exec.Command("make", "-C", root, "build", "OUT="+out).CombinedOutput()
	if err != nil {
		t.Fatalf("make build: %v\n%s", err, b)
	}
	got, err := exec.Command(out, "version").Output()
	want := "nstrace " + strings.TrimSpace(string(describe)) + " ("
	if err != nil || !strings.HasPrefix(string(got), want) {
		t.Errorf("version: %q (%v), want it to start %q", got, err, want)
	}
}

func TestBuildVersionFromBuildInfo(t *testing.T) {
	bi := func(version string, settings ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{}
		b.Main.Version = version
		for i := 0; i+1 < len(settings); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return b
	}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{bi("v1.2.3"), "v1.2.3"},
		{bi("(devel)", "vcs.revision", "0439a15c1d2e5b0e9a7c0d8f", "vcs.modified", "false"), "devel-0439a15c1d2e"},
		{bi("(devel)", "vcs.revision", "0439a15c1d2e5b0e9a7c0d8f", "vcs.modified", "true"), "devel-0439a15c1d2e-dirty"},
		{bi("(devel)"), "devel"},
	} {
		if got := buildVersion(tc.bi, true); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.bi, got, tc.want)
		}
	}
	if got := buildVersion(nil, false); got != "devel" {
		t.Errorf("no build info: %q", got)
	}
}

// A typo gets the command it is close to; a word close to none gets the
// list; a command given an argument it does not take is named right. All
// are usage errors: one line, status 2.
func TestUnknownCommandsAndArgumentsAreNamedRight(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rport"}, `nstrace: unknown command "rport" (did you mean report?)`},
		{[]string{"trase", "-o", "json"}, `nstrace: unknown command "trase" (did you mean trace?)`},
		{[]string{"replya", "x"}, `nstrace: unknown command "replya" (did you mean replay?)`},
		{[]string{"frobnicate"}, `nstrace: unknown command "frobnicate" (commands: completion, ls, replay, report, rules, trace, verify, version)`},
		{[]string{"\x1b[2J"}, `nstrace: unknown command "\x1b[2J" (commands: completion, ls, replay, report, rules, trace, verify, version)`},
		{[]string{"trace", "version"}, `nstrace: trace takes no arguments, got "version"`},
		{[]string{"replay"}, `nstrace: replay needs a session file: nstrace replay FILE... (or -r FILE)`},
		{[]string{"--duration", "-1s"}, `nstrace: --duration: want a positive duration such as 30s`},
		{[]string{"-c", "x"}, `nstrace: invalid argument "x" for "-c, --count" flag: strconv.ParseUint: parsing "x": invalid syntax`},
		{[]string{"replay", "-", "--since", "-5m"}, `nstrace: a time back from the end (-5m) needs files: standard input cannot be read twice`},
		{[]string{"replay", "x", "--since", "-5q"}, `nstrace: --since "-5q": want a duration back from the end, such as -5m`},
	} {
		stdout, stderr, code := nstrace(t, nil, tc.args...)
		if code != 2 || stdout != "" || stderr != tc.want+"\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// replay -r FILE reads as replay FILE does, and the two forms mix: files
// are read in the order given, -r ones first.
func TestReplayReadsDashR(t *testing.T) {
	evs := replayEventsFixture()
	a, b := makeSession(t, "a.jsonl", evs[:2]), makeSession(t, "b.jsonl", evs[3:])
	for _, tc := range []struct {
		args []string
		want []event.Event
	}{
		{[]string{"-r", a}, evs[:2]},
		{[]string{"--read", b}, evs[3:]},
		{[]string{"-r", a, b}, append(evs[:2:2], evs[3:]...)},
	} {
		got, stderr, code := nstrace(t, nil, append([]string{"replay", "--no-alerts", "-o", "json"}, tc.args...)...)
		if code != 0 || got != liveJSON(tc.want) {
			t.Errorf("%q: exit %d, stderr %q\n%s\nwant\n%s", tc.args, code, stderr, got, liveJSON(tc.want))
		}
	}
}

// -o is a format everywhere: report's page is -w/--out, and the older
// `report -o FILE` still writes the page, with a one-line note.
func TestReportOutputFlags(t *testing.T) {
	path := makeSession(t, "s.jsonl", replayEventsFixture())
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		page string
		note bool
	}{
		{[]string{"-w", filepath.Join(dir, "a.html")}, "a.html", false},
		{[]string{"--out", filepath.Join(dir, "b.html"), "-o", "html"}, "b.html", false},
		{[]string{"-o", filepath.Join(dir, "c.html")}, "c.html", true},
	} {
		_, stderr, code := nstrace(t, nil, append([]string{"report", path}, tc.args...)...)
		note := strings.HasPrefix(stderr, "nstrace: note: report -o FILE is now -w FILE (-o names the format)\n")
		if code != 0 || note != tc.note || strings.Count(stderr, "\n") != 1+btoi(tc.note) {
			t.Errorf("%q: exit %d, stderr %q", tc.args, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, tc.page)); err != nil {
			t.Errorf("%q: %v", tc.args, err)
		}
	}
	_, stderr, code := nstrace(t, nil, "report", path, "-o", "pdf", "-w", filepath.Join(dir, "d.html"))
	if want := `nstrace: unknown output format "pdf" (want html; the file is -w ` + filepath.Join(dir, "d.html") + ")\n"; code != 2 || stderr != want {
		t.Errorf("-o pdf -w: exit %d, stderr %q, want %q", code, stderr, want)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
