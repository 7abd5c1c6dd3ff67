package report

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
)

// The browser tests load reports in Debian's chromium, headless and with
// everything that would reach the network off. They skip when chromium is
// missing, except in CI (NSTRACE_KERNEL_TESTS=1), where a skip is a failure.

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("NSTRACE_KERNEL_TESTS") == "1" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); CI must run the browser tests")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium)")
	return ""
}

// artifacts is where screenshots are kept for a person to look at:
// $NSTRACE_ARTIFACTS, or a directory of this user's under the system's
// temporary one (another user's run may have made one there first).
func artifacts(t *testing.T) string {
	dir := os.Getenv("NSTRACE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "nstrace-report-test-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browse runs chromium on the page with extra flags and returns what it
// printed and what it logged.
func browse(t *testing.T, page string, url string, extra ...string) (stdout, stderr string) {
	t.Helper()
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir(),
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-quic", "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
		"--enable-logging=stderr", "--v=0", "--window-size=1400,900"}, extra...)
	if url == "" {
		url = "file://" + page
	}
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(errb.String(), 40))
	}
	return out.String(), errb.String()
}

// consoleErrors finds what the page logged or threw, and blocked loads:
// the page itself logs nothing.
func consoleErrors(log string) []string {
	var errs []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught") ||
			strings.Contains(line, "Content Security Policy") || strings.Contains(line, "Refused to") {
			errs = append(errs, line)
		}
	}
	return errs
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func savePage(t *testing.T, name string, r *Report) string {
	t.Helper()
	path := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(path, writePage(t, r), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	statusRe   = regexp.MustCompile(`<span id="render-status"([^>]*)>([^<]*)<`)
	attrRe     = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
	elementRe  = regexp.MustCompile(`<(g|circle|rect|path) ([^>]*)>`)
	pageErrsRe = regexp.MustCompile(`(?s)<pre id="page-errors"[^>]*>(.*?)</pre>`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// checkRendered fails unless the page finished drawing without errors,
// and returns its status element's attributes.
func checkRendered(t *testing.T, dom, log string) map[string]string {
	t.Helper()
	if errs := consoleErrors(log); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	if m := pageErrsRe.FindStringSubmatch(dom); m == nil || strings.TrimSpace(m[1]) != "" {
		t.Errorf("the page caught errors: %q", m)
	}
	m := statusRe.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no render status in the DOM:\n%s", tail(dom, 20))
	}
	st := attrs(m[1])
	if st["data-state"] != "done" {
		t.Fatalf("the page did not finish drawing: state %q, %q", st["data-state"], m[2])
	}
	return st
}

// domStructure is structure() as the page drew it: groups and lanes in
// the order of the DOM, and each lane's marks counted from the mark
// elements (a cluster counts its members by kind).
func domStructure(t *testing.T, dom string) string {
	t.Helper()
	var b strings.Builder
	marks := map[string]map[string]int{}
	var lanes []map[string]string
	for _, el := range elementRe.FindAllStringSubmatch(dom, -1) {
		a := attrs(el[2])
		cls := strings.Fields(a["class"])
		switch {
		case el[1] == "g" && len(cls) > 0 && cls[0] == "group-head":
			lanes = append(lanes, map[string]string{"group": a["data-group"]})
		case el[1] == "g" && len(cls) > 0 && cls[0] == "lane":
			lanes = append(lanes, a)
		case len(cls) > 1 && cls[0] == "mark":
			lane := a["data-lane"]
			if marks[lane] == nil {
				marks[lane] = map[string]int{}
			}
			if cls[1] == "cluster" {
				for _, kv := range strings.Split(a["data-mix"], ",") {
					k, v, _ := strings.Cut(kv, ":")
					n, _ := strconv.Atoi(v)
					marks[lane][k] += n
				}
				continue
			}
			marks[lane][strings.TrimPrefix(cls[1], "m-")]++
		}
	}
	for _, l := range lanes {
		if g, ok := l["group"]; ok {
			fmt.Fprintf(&b, "group %s\n", g)
			continue
		}
		ino, _ := strconv.ParseUint(l["data-inode"], 10, 32)
		b.WriteString(laneLine(l["data-kind"], l["data-type"], uint32(ino), l["data-label"], marks[l["data-lane"]]))
	}
	return b.String()
}

func TestTheFixtureReportRendersInChromium(t *testing.T) {
	r := buildReport(t, fixture)
	page := savePage(t, "fixture.html", r)
	dom, log := browse(t, page, "", "--dump-dom")
	st := checkRendered(t, dom, log)
	t.Logf("fixture drawn: %s ms (parse %s, prepare %s, draw %s)", st["data-total-ms"], st["data-parse-ms"],
		st["data-prep-ms"], st["data-draw-ms"])
	golden(t, "session.structure", domStructure(t, dom))

	dom, log = browse(t, page, "file://"+page+"#selftest", "--dump-dom")
	st = checkRendered(t, dom, log)
	for _, want := range []string{"tooltip", "details", "fold"} {
		if !strings.Contains(" "+st["data-selftest"]+" ", " "+want+" ") {
			t.Errorf("the self-test's %s check failed: passed %q", want, st["data-selftest"])
		}
	}

	screenshot(t, page, "", "fixture.png")
	if ev := linkedJoin(r); ev >= 0 {
		screenshot(t, page, fmt.Sprintf("#event=%d", ev), "fixture-selected.png")
	} else {
		t.Error("the fixture has no join from one namespace to another")
	}
}

// screenshot saves a picture of the page, at the URL fragment given, for
// a person to look at.
func screenshot(t *testing.T, page, fragment, name string) {
	t.Helper()
	shot := filepath.Join(artifacts(t), name)
	os.Remove(shot)
	browse(t, page, "file://"+page+fragment, "--screenshot="+shot)
	checkScreenshot(t, shot)
	t.Logf("screenshot: %s", shot)
}

// linkedJoin is the first setns that moved a process from one drawn lane
// into a namespace created while recording: what a reader would click.
func linkedJoin(r *Report) int {
	for i, e := range r.events {
		for _, c := range r.changes[e.ch0:e.ch1] {
			if e.kind == event.Setns && c.fromLane >= 0 && !r.Lanes[c.lane].Created.IsZero() {
				return i
			}
		}
	}
	return -1
}

// checkScreenshot fails on a missing or blank picture.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	colors := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r>>11<<10|g>>11<<5|bl>>11] = true
		}
	}
	if b.Dx() != 1400 || b.Dy() != 900 || len(colors) < 20 {
		t.Errorf("screenshot %dx%d with %d colours: not the page", b.Dx(), b.Dy(), len(colors))
	}
}

func TestAHostilePageStaysInert(t *testing.T) {
	page := savePage(t, "hostile.html", hostileReport(t))
	dom, log := browse(t, page, "", "--dump-dom")
	checkRendered(t, dom, log)
	for _, bad := range []string{"<img", "<svg onload", "alert(2)</script>"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the DOM holds %q: markup was injected", bad)
		}
	}
	if n := strings.Count(dom, "<script"); n != 2 {
		t.Errorf("%d script elements in the DOM, want 2", n)
	}
	// The hostile text is there, as text.
	if !strings.Contains(dom, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the hostile comm is not shown as text")
	}
}

func TestAHundredThousandEventsRenderAndStayResponsive(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	start := time.Now()
	starts := 0
	r := buildReportWith(t, synthAlerts(&starts), writeSynthSession(t, 100_000))
	page := savePage(t, "busy.html", r)
	made := time.Since(start)
	info, _ := os.Stat(page)
	dom, log := browse(t, page, "file://"+page+"#selftest", "--dump-dom")
	st := checkRendered(t, dom, log)
	if st["data-redraws"] == "" {
		t.Fatal("the self-test did not run")
	}
	if got, want := st["data-selftest"], "cluster tooltip details fold"; got != want {
		t.Errorf("hovering, clicking and folding: %q work, want %q", got, want)
	}
	checkNotableGroups(t, dom, r)
	t.Logf("100 000 events, %d lanes: report made in %v (%.1f MB); in chromium %s ms from navigation to drawn, the script %s ms (parse %s, prepare %s, draw %s); %s redraws while zooming and panning, the slowest %s ms",
		len(r.Lanes), made.Round(time.Millisecond), float64(info.Size())/1e6, st["data-page-ms"], st["data-total-ms"], st["data-parse-ms"],
		st["data-prep-ms"], st["data-draw-ms"], st["data-redraws"], st["data-redraw-max-ms"])

	screenshot(t, page, "", "busy.png")
}

// The console check itself must see what it looks for, in the chromium at
// hand: a page that logs an error and breaks the policy is caught.
func TestTheConsoleCheckSeesErrors(t *testing.T) {
	page := filepath.Join(t.TempDir(), "bad.html")
	content := `<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'">` +
		`<img src="http://example.invalid/x.png"><script>console.error("boom")</script>`
	if err := os.WriteFile(page, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, log := browse(t, page, "", "--dump-dom")
	if errs := consoleErrors(log); len(errs) < 2 {
		t.Errorf("saw %d console errors, want the error and the blocked image:\n%s", len(errs), tail(log, 20))
	}
}

// synthAlerts raises alerts as a detector might: on denied attempts by
// one user, and on one container start in fifty.
func synthAlerts(starts *int) func(*Builder, *event.Event) {
	return func(b *Builder, ev *event.Event) {
		switch {
		case ev.Failed() && ev.UID == 1003:
			b.Alert("denied-namespace-change", "notice", "uid 1003 was denied unshare(CLONE_NEWNET|CLONE_NEWNS)", ev)
		case ev.Kind == event.Unshare && len(ev.Changes) == 5:
			if *starts++; *starts%50 == 0 {
				b.Alert("container-without-userns", "warning", "a container started without a user namespace", ev)
			}
		}
	}
}
