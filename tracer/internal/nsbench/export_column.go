package nsbench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// exportColumnName is the table's column of nstrace -o json with
// --otlp-endpoint: the same runs, every event also sent to a local
// collector, so the setns rows show what export costs the traced workload.
const exportColumnName = "nstrace-json-otlp"

// exportTracer runs `nstrace trace -o json` as nstraceTracer does, plus
// --otlp-endpoint to the table's collector (started on the first run) with
// a fresh spool each run; it waits at exit until the collector has
// acknowledged every record, and counts what export lost with the rest.
func exportTracer(o *options) tracer {
	// It runs -o json's programs: like -w, it is left out of the costs.
	t := tracer{Name: exportColumnName, Title: "nstrace -o json --otlp-endpoint", parse: parseNstraceLine,
		nstrace: true, recorder: true}
	t.start = func(dir string) (*session, error) {
		col, err := o.export.tableCollector(o)
		if err != nil {
			return nil, err
		}
		ready := filepath.Join(dir, t.Name+".ready")
		events := filepath.Join(dir, t.Name+".jsonl")
		spool := filepath.Join(dir, t.Name+".spool")
		for _, p := range []string{ready, events, spool} {
			if err := os.RemoveAll(p); err != nil {
				return nil, err
			}
		}
		f, err := os.Create(events)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cmd := exec.Command(o.nstrace, "trace", "--ready-file", ready, "-o", "json",
			"--otlp-endpoint", col.url, "--otlp-insecure", "--otlp-spool", spool, "--drain-timeout", "60s")
		cmd.Stdout = f
		cmd.Env = o.export.env()
		return startSession(cmd, events, fileExists(ready))
	}
	t.lost = func(s *session) (summary, error) {
		sum, ok := parseSummary(s.stderr.String())
		if !ok {
			return summary{}, fmt.Errorf("%s printed no summary: %q", t.Title, s.stderr.String())
		}
		exportLost, pending := otlpLosses(s.stderr.String())
		if pending {
			return summary{}, fmt.Errorf("%s left records unacknowledged at exit: %q", t.Title, s.stderr.String())
		}
		sum.Lost += exportLost
		return sum, nil
	}
	return t
}

var (
	otlpLost    = regexp.MustCompile(`(?m)^nstrace: otlp: \d+ records sent, (\d+) dropped from the full spool, (\d+) rejected`)
	otlpPending = regexp.MustCompile(`(?m)^nstrace: otlp: \d+ records not yet acknowledged`)
)

// otlpLosses reads what nstrace's exit said export dropped and rejected,
// and whether records were left unacknowledged.
func otlpLosses(stderr string) (int64, bool) {
	var n int64
	if m := otlpLost.FindStringSubmatch(stderr); m != nil {
		d, _ := strconv.ParseInt(m[1], 10, 64)
		r, _ := strconv.ParseInt(m[2], 10, 64)
		n = d + r
	}
	return n, otlpPending.MatchString(stderr)
}

// tableCollector is the collector of the table's export column, started
// on first use and stopped by stopTableCollector.
func (e *exportOptions) tableCollector(o *options) (*collectorProc, error) {
	if e.tableCol != nil {
		return e.tableCol, nil
	}
	col, err := startCollector(o, e.collector)
	if err != nil {
		return nil, err
	}
	e.tableCol = col
	return col, nil
}

func (e *exportOptions) stopTableCollector() {
	if e.tableCol != nil {
		e.tableCol.kill()
		e.tableCol = nil
	}
}
