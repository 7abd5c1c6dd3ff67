package nsbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/report/synth"
)

// The report's bounds at 1 M events and 100 000 namespaces (the incident
// issue's): the command's peak memory and time, the page's size, and in
// a browser the first drawing and the slowest pan or zoom step.
const (
	reportRSSGoalKiB = 512 << 10
	reportTimeGoal   = 20 * time.Second
	reportPageGoalMB = 50
	reportDrawGoalMs = 3000
	reportStepGoalMs = 100
)

// reportRow is `nstrace report` on one synthetic session.
type reportRow struct {
	Events     int     `json:"events"`
	Namespaces int     `json:"namespaces"` // asked of the generator; the report says how many it drew
	Drawn      string  `json:"summary"`    // the report's own line: events, namespaces, ...
	RSSKiB     int64   `json:"max_rss_kib"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"` // user + system: what the wall time is when the machine is idle
	PageMB     float64 `json:"page_mb"`
	DrawMs     float64 `json:"first_draw_ms,omitempty"` // navigation to drawn, in headless chromium
	StepMs     float64 `json:"step_ms,omitempty"`       // the slowest of the self-test's zoom and pan steps
	RedrawMs   float64 `json:"redraw_ms,omitempty"`     // the slowest of all its steps: scrolling, the whole view, a selection too
	Browser    string  `json:"browser,omitempty"`       // why there are no browser figures
}

// measureReports records a synthetic session for each size and times
// `nstrace report` on it, then draws the page in chromium when installed.
func measureReports(o *options, sizes []int) ([]reportRow, error) {
	var rows []reportRow
	for _, n := range sizes {
		row := reportRow{Events: n, Namespaces: n / 10}
		session := filepath.Join(o.dir, fmt.Sprintf("report-%d.jsonl.zst", n))
		fmt.Fprintf(os.Stderr, "nsbench: report: recording %d synthetic events\n", n)
		if err := synth.WriteSession(session, n, row.Namespaces); err != nil {
			return nil, fmt.Errorf("synthetic session: %w", err)
		}
		page := filepath.Join(o.dir, fmt.Sprintf("report-%d.html", n))
		var stderr bytes.Buffer
		cmd := unpinned(o.nstrace, "report", session, "-o", page)
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		row.Seconds = time.Since(start).Seconds()
		os.Remove(session)
		if err != nil {
			return nil, fmt.Errorf("nstrace report: %w: %s", err, stderr.String())
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			row.RSSKiB = ru.Maxrss
			row.CPUSeconds = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		}
		row.Drawn = strings.TrimPrefix(strings.TrimSpace(lastLine(stderr.String())), "nstrace: "+page+": ")
		info, err := os.Stat(page)
		if err != nil {
			return nil, err
		}
		row.PageMB = float64(info.Size()) / 1e6
		row.DrawMs, row.StepMs, row.RedrawMs, row.Browser = drawInChromium(o.dir, page)
		os.Remove(page)
		rows = append(rows, row)
	}
	return rows, nil
}

// unpinned is a command on every CPU, as a person runs it, not on the
// harness's (pinHarness): taskset sets that before the program starts,
// so that all its threads inherit it.
func unpinned(bin string, args ...string) *exec.Cmd {
	if taskset, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() > 1 {
		return exec.Command(taskset, append([]string{"-c", "0-" + strconv.Itoa(runtime.NumCPU()-1), bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

// runContext runs cmd for its output, killing it when ctx ends.
func runContext(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	defer stop()
	err := cmd.Wait()
	return out.Bytes(), err
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

var statusAttrs = regexp.MustCompile(`<span id="render-status"([^>]*)>`)

// drawInChromium loads the page with its self-test (start.js) and reads
// the timings it leaves on the status element.
func drawInChromium(dir, page string) (drawMs, stepMs, redrawMs float64, why string) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return 0, 0, 0, "chromium not installed"
	}
	profile, err := os.MkdirTemp(dir, "chromium-")
	if err != nil {
		return 0, 0, 0, err.Error()
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := unpinned(bin, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+profile,
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-extensions", "--window-size=1400,900", "--dump-dom", "file://"+page+"#selftest")
	cmd.Stderr = io.Discard
	dom, err := runContext(ctx, cmd)
	if err != nil {
		return 0, 0, 0, "chromium: " + err.Error()
	}
	m := statusAttrs.FindSubmatch(dom)
	if m == nil {
		return 0, 0, 0, "the page drew no status"
	}
	attr := func(name string) (float64, bool) {
		a := regexp.MustCompile(name + `="([0-9.]+)"`).FindSubmatch(m[1])
		if a == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(string(a[1]), 64)
		return v, err == nil
	}
	if !bytes.Contains(m[1], []byte(`data-state="done"`)) {
		return 0, 0, 0, "the page did not finish drawing"
	}
	drawMs, ok1 := attr("data-page-ms")
	stepMs, ok2 := attr("data-move-max-ms")
	redrawMs, ok3 := attr("data-redraw-max-ms")
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, 0, "the page's self-test left no timings"
	}
	return drawMs, stepMs, redrawMs, ""
}

func (res *results) writeReports(w io.Writer) {
	if len(res.Reports) == 0 {
		return
	}
	fmt.Fprintf(w, "\n`nstrace report` on synthetic sessions (tracer/internal/report/synth; goals at 1 M events: ≤ 512 MiB, ≤ 20 s, page ≤ 50 MB, first draw ≤ 3 s, pan/zoom step ≤ 100 ms in headless chromium):\n\n")
	t := [][]string{{"events", "namespaces asked", "max RSS", "seconds (CPU s)", "page", "first draw", "slowest pan/zoom step", "slowest redraw"}}
	for _, r := range res.Reports {
		goals := r.Events <= 1_000_000
		mark := func(ok bool) string {
			if !goals {
				return ""
			}
			return " " + pass(ok)
		}
		draw, step, redraw := "— ("+r.Browser+")", "—", "—"
		if r.Browser == "" {
			draw = fmt.Sprintf("%.0f ms%s", r.DrawMs, mark(r.DrawMs <= reportDrawGoalMs))
			step = fmt.Sprintf("%.0f ms%s", r.StepMs, mark(r.StepMs <= reportStepGoalMs))
			redraw = fmt.Sprintf("%.0f ms", r.RedrawMs)
		}
		t = append(t, []string{fmtInt(float64(r.Events)), fmtInt(float64(r.Namespaces)),
			fmt.Sprintf("%.0f MiB%s", float64(r.RSSKiB)/1024, mark(r.RSSKiB <= reportRSSGoalKiB)),
			fmt.Sprintf("%.1f (%.1f)%s", r.Seconds, r.CPUSeconds, mark(r.Seconds <= reportTimeGoal.Seconds())),
			fmt.Sprintf("%.1f MB%s", r.PageMB, mark(r.PageMB <= reportPageGoalMB)), draw, step, redraw})
	}
	writeMarkdown(w, t)
	for _, r := range res.Reports {
		fmt.Fprintf(w, "- %s events: %s\n", fmtInt(float64(r.Events)), r.Drawn)
	}
}
