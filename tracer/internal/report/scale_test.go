package report

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/report/synth"
)

// TestReportAtScale measures a report of NSTRACE_REPORT_SCALE synthetic
// events and a tenth as many namespaces: building it, the page's size,
// and drawing it in chromium. The session stays in the temporary
// directory, for `nstrace report` to be measured on it too.
func TestReportAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NSTRACE_REPORT_SCALE"))
	if n <= 0 {
		t.Skip("NSTRACE_REPORT_SCALE=EVENTS runs it")
	}
	path := filepath.Join(os.TempDir(), "nstrace-scale-"+strconv.Itoa(n)+"-ns.jsonl")
	if _, err := os.Stat(path); err != nil {
		tmp := filepath.Join(t.TempDir(), "scale.jsonl")
		if err := synth.WriteSession(tmp, n, n/10); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	start := time.Now()
	r := buildReport(t, path)
	page := savePage(t, "scale.html", r)
	made := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	info, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %d lanes, %d kept one by one: report made in %v, %.1f MB page, Go heap peak ~%d MiB (Sys)",
		r.Summary.Events, len(r.Lanes), len(r.events), made.Round(time.Millisecond), float64(info.Size())/1e6, ms.Sys>>20)
	dom, log := browse(t, page, "file://"+page+"#selftest", "--dump-dom")
	st := checkRendered(t, dom, log)
	t.Logf("in chromium: %s ms from navigation to drawn, the script %s ms (parse %s, prepare %s, draw %s); %s redraws, the slowest %s ms, of zooming and panning %s ms; self-test: %s",
		st["data-page-ms"], st["data-total-ms"], st["data-parse-ms"], st["data-prep-ms"], st["data-draw-ms"],
		st["data-redraws"], st["data-redraw-max-ms"], st["data-move-max-ms"], st["data-selftest"])
	screenshot(t, page, "", "scale.png")
}
