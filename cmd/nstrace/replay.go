package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer/detect"
	"github.com/nstrace/nstrace/tracer/filter"
	"github.com/nstrace/nstrace/tracer/render"
	"github.com/nstrace/nstrace/tracer/session"
)

type replayFlags struct {
	output string
	filter filterFlags
	since  string
	until  string
	alerts alertFlags // alerts.go
	rerun  bool       // run the rules even when the recording holds alerts
}

func newReplayCommand() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE... [flags]",
		Short: "Show a recorded session as live tracing showed it",
		Long: "Show a recorded session (nstrace trace -w) as live tracing showed it.\n" +
			"Several files, or a quoted glob, are read in order as one stream: the files of a\n" +
			"rotated recording, or sessions recorded one after another. - reads standard input.",
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(&f, args, os.Stdout, os.Stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	f.filter.register(fl, false)
	fl.StringVar(&f.since, "since", "", "only events from this time on: 2026-11-29T03:38:18Z, 03:38:18 (UTC), or 5m after the start")
	fl.StringVar(&f.until, "until", "", "only events up to this time, in the same forms as --since")
	f.alerts.register(fl)
	fl.BoolVar(&f.rerun, "rerun-rules", false, "run the detection rules again (built-in, or --rules') instead of showing the alerts recorded")
	return cmd
}

func runReplay(f *replayFlags, args []string, stdout, stderr io.Writer) error {
	out, err := newOutput(f.output, stdout)
	if err != nil {
		return err
	}
	opts, err := f.filter.options()
	if err != nil {
		return err
	}
	rules, err := f.alerts.load()
	if err != nil {
		return err
	}
	rec, err := openRecording("replay", args, opts, f.since, f.until)
	if err != nil {
		return err
	}
	r, res := rec.r, rec.res
	defer r.Close()
	first := r.First()
	choice, err := chooseAlerts(first, f.alerts.rules, f.rerun, f.alerts.noAlerts)
	if err != nil {
		return err
	}
	if choice == recordedAlerts {
		rules = nil // the detector stays off: the recorded alerts are shown
	}
	p := &pipeline{sinks: []sink{out}, warn: stderr}
	if f.alerts.alertsOnly {
		p.sinks = nil
	}
	p.enrich = append(p.enrich, res.Resolve)
	p.alerts = newAlerting(rules, out, stdout, detect.WithNamespaces(res))
	if p.filter, err = filter.New(rec.opts); err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stderr, "nstrace: %s\n", describeRecording(first))
	if choice == recordedAlerts {
		fmt.Fprintf(stderr, "nstrace: %s\n", describeDetection(first))
	}
	if !f.alerts.alertsOnly {
		if err := out.start(); err != nil {
			return err
		}
	}

	readErr := replayEvents(r, p, out, choice == recordedAlerts)
	if err := out.Flush(); err != nil && readErr == nil {
		readErr = err
	}
	for _, w := range r.Warnings() {
		fmt.Fprintf(stderr, "nstrace: replay %s: warning: %s\n", w.Pos, w.Msg)
	}
	if readErr != nil {
		return readErr
	}
	fmt.Fprintf(stderr, "nstrace: %s\n", p.summary())
	if sum := p.alerts.summary(); sum != "" {
		fmt.Fprintf(stderr, "nstrace: %s\n", sum)
	}
	return nil
}

// replayEvents runs the recording through p; recorded alerts are shown
// after their events when showAlerts is set.
func replayEvents(r *session.Reader, p *pipeline, out *output, showAlerts bool) error {
	for {
		rec, err := r.NextRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("replay %w", err)
		}
		switch {
		case rec.Event != nil:
			err = p.event(rec.Event)
		case showAlerts:
			a := alertOf(rec.Alert)
			err = p.recordedAlert(&a)
		}
		if err != nil {
			return err
		}
		// Streaming from a pipe: show what came before waiting for more.
		if !r.Buffered() {
			if err := out.Flush(); err != nil {
				return err
			}
		}
	}
}

// describeRecording is the line replay starts with on stderr, in place of
// live tracing's "tracing started".
func describeRecording(h *session.Header) string {
	var b strings.Builder
	fmt.Fprintf(&b, "replaying a session recorded on %s (Linux %s) at %s UTC",
		render.Sanitize(h.Host), render.Sanitize(h.Kernel), h.Started.UTC().Format("2006-01-02 15:04:05"))
	if h.Filter != "" {
		fmt.Fprintf(&b, " with filter %s", render.Sanitize(h.Filter))
	}
	var on, off []string
	for _, hk := range h.Hooks {
		name := render.Sanitize(hk.Name)
		switch {
		case hk.Attached && hk.Via != "":
			on = append(on, name+"("+render.Sanitize(hk.Via)+")")
		case hk.Attached:
			on = append(on, name)
		default:
			off = append(off, name)
		}
	}
	if len(on) > 0 {
		b.WriteString("; hooks: " + strings.Join(on, " "))
	}
	if len(off) > 0 {
		b.WriteString("; unavailable: " + strings.Join(off, " "))
	}
	return b.String()
}

// expandPaths expands arguments that are globs (quoted, so the shell left
// them) into the files they match, in name order: rotated files sort in
// the order they were written.
func expandPaths(args []string) ([]string, error) {
	var paths []string
	for _, a := range args {
		if _, err := os.Lstat(a); err == nil || a == "-" || !strings.ContainsAny(a, "*?[") {
			paths = append(paths, a)
			continue
		}
		matches, err := filepath.Glob(a)
		if err != nil {
			return nil, usageError{fmt.Errorf("replay %s: %w", render.Sanitize(a), err)}
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("replay %s: no file matches", render.Sanitize(a))
		}
		paths = append(paths, matches...)
	}
	return paths, nil
}
