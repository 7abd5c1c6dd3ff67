package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer/internal/detect"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/report"
	"github.com/nstrace/nstrace/tracer/session"
)

type reportFlags struct {
	out    string
	format string // -o: html, the one format; an old -o FILE is read as -w FILE
	title  string
	alerts alertFlags // detection.go
	filter filterFlags
	since  string
	until  string
}

func newReportCommand() *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report FILE... [-w REPORT.html] [flags]",
		Short: "Draw a recorded session as a self-contained HTML timeline",
		Long: "Draw a recorded session (nstrace trace -w) as one HTML file: a summary, then a\n" +
			"timeline with a lane per namespace where creations, joins, failed attempts,\n" +
			"losses and alerts are marks to hover, click, zoom and pan. The page fetches\n" +
			"nothing and opens offline in any browser. Files are read as replay reads them,\n" +
			"and replay's filters apply.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("report needs a session file: nstrace report FILE... [-w REPORT.html]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.outputFlags(cmd.Flags().Changed("out"), os.Stderr); err != nil {
				return err
			}
			return runReport(&f, args, os.Stdout, os.Stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "w", "nstrace-report.html", "the HTML file to write; - for standard output")
	fl.StringVarP(&f.format, "output", "o", "html", "output format: html (the one there is; -o FILE still names the file, as -w does)")
	fl.StringVar(&f.title, "title", "", "the page title (default: host and start of the recording)")
	// No --alerts-only: the page's alerts point at the events that raised them.
	f.alerts.register(fl, true, false)
	f.filter.register(fl, false)
	fl.StringVar(&f.since, "since", "", "only events from this time on: 2026-11-29T03:38:18Z, 03:38:18 (UTC), 5m after the start, or -5m before the end")
	fl.StringVar(&f.until, "until", "", "only events up to this time, in the same forms as --since")
	return cmd
}

func runReport(f *reportFlags, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	run, err := openRecordedRun("report", args, &f.filter, &f.alerts, f.since, f.until, stderr)
	if err != nil {
		return err
	}
	rec, filt, det, recorded := run.rec, run.filt, run.det, run.recorded
	defer rec.r.Close()
	defer printDetectionLines(stderr, det)
	rep, read, err := drawRecording(rec, filt, det, recorded, stderr)
	if err != nil {
		return err
	}
	rep.Seal = reportSeals(rec.seals, stderr)
	rep.Rules = reportRules(run.rules, recorded, rec.r.First())
	rep.Title, rep.Generated, rep.Filter, rep.Summary.Read = f.title, start.UTC(), filt.String(), read
	rep.Files = baseNames(rec.paths)
	rep.Warnings = readerWarnings(rec.r, stderr)
	if err := writeReport(f.out, rep, stdout); err != nil {
		return err
	}
	if f.out != "-" {
		printReportWritten(stderr, f.out, rep, start)
	}
	return nil
}

// drawRecording replays the recording through the pipeline into a report
// Builder, and gives the report with the count of events read.
func drawRecording(rec *recording, filt *filter.Filter, det *detection, recorded bool, stderr io.Writer) (*report.Report, uint64, error) {
	b := report.NewBuilder(report.Options{Lookup: rec.res.Lookup})
	p := pipeline.New(pipeline.Options{Resolver: rec.res, Detector: det.detector(), Filter: filt,
		Sinks: []pipeline.Sink{reportSink{b}}, Warn: stderr})
	if err := replaySession(rec.r, p, "report", recorded, nil); err != nil {
		return nil, 0, err
	}
	if err := p.Finish(); err != nil {
		return nil, 0, err
	}
	return b.Report(), p.Counts().Seen, nil
}

// printDetectionLines closes the run with the lines on failing and skipped
// rules.
func printDetectionLines(stderr io.Writer, det *detection) {
	for _, l := range det.lines() {
		fmt.Fprintf(stderr, "nstrace: %s\n", l)
	}
}

// reportRules are the rules the page says ran: this run's, or when the
// recorded alerts are shown, those in force when it was recorded
// (sanitized, as they come from the file).
func reportRules(rules *detect.Rules, recorded bool, first *session.Header) []string {
	switch {
	case rules != nil:
		return rules.Enabled()
	case recorded:
		var names []string
		for _, name := range first.Detection.Rules {
			names = append(names, render.Sanitize(name))
		}
		return names
	}
	return nil
}

// baseNames are the file names of paths, without their directories.
func baseNames(paths []string) []string {
	var names []string
	for _, path := range paths {
		names = append(names, filepath.Base(path))
	}
	return names
}

// readerWarnings are what the reader found wrong but read past: listed on
// the page, and each said on stderr too.
func readerWarnings(r *session.Reader, stderr io.Writer) []string {
	var warnings []string
	for _, w := range r.Warnings() {
		warnings = append(warnings, w.String())
		fmt.Fprintf(stderr, "nstrace: report %s: warning: %s\n", w.Pos, w.Msg)
	}
	return warnings
}

// printReportWritten is the closing line of a page written to a file.
func printReportWritten(stderr io.Writer, out string, rep *report.Report, start time.Time) {
	fmt.Fprintf(stderr, "nstrace: %s: %d events, %d namespaces, %d failed, %d lost, %d alerts (%s)\n",
		render.Sanitize(out), rep.Summary.Events, rep.Summary.Namespaces, rep.Summary.Failed,
		rep.Summary.Lost, len(rep.Alerts)+rep.Unlisted, time.Since(start).Round(time.Millisecond))
}

// outputFlags reads -o as every command does, a format, and keeps the
// older `report -o FILE` working: anything but a format there names the
// file, with a note.
func (f *reportFlags) outputFlags(outSet bool, stderr io.Writer) error {
	if f.format == "html" {
		return nil
	}
	if outSet {
		return usageError{fmt.Errorf("unknown output format %q (want html; the file is -w %s)", f.format, render.Sanitize(f.out))}
	}
	fmt.Fprintf(stderr, "nstrace: note: report -o FILE is now -w FILE (-o names the format)\n")
	f.out, f.format = f.format, "html"
	return nil
}

// reportSink is the report's Builder as a sink of the pipeline. The
// Builder places each alert on the event that raised it.
type reportSink struct{ *report.Builder }

func (s reportSink) WriteAlert(a *detect.Alert) error {
	s.Alert(a.Rule, a.Severity.String(), a.Message, a.Trigger)
	return nil
}

// writeReport writes the page whole or not at all: to a temporary file
// renamed into place, so a failed run leaves no half page behind.
func writeReport(path string, rep *report.Report, stdout io.Writer) error {
	if path == "-" {
		return report.WriteHTML(stdout, rep, version)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nstrace-report-*.html")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name would only confuse
		}
		return fmt.Errorf("write report %s: %w", render.Sanitize(path), err)
	}
	defer os.Remove(tmp.Name())
	if err := report.WriteHTML(tmp, rep, version); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
