package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nstrace/nstrace/tracer/internal/pipeline"
	"github.com/nstrace/nstrace/tracer/internal/render"
	"github.com/nstrace/nstrace/tracer/internal/seal"
	"github.com/nstrace/nstrace/tracer/session"
)

type replayFlags struct {
	output string
	filter filterFlags
	since  string
	until  string
	alerts alertFlags // detection.go
	verify bool       // a broken seal ends the replay
	read   []string   // -r FILE, tcpdump's and sysdig's habit, as well as FILE...
}

func newReplayCommand() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE... | -r FILE [flags]",
		Short: "Show a recorded session as live tracing showed it",
		Long: "Show a recorded session (nstrace trace -w) as live tracing showed it.\n" +
			"Several files, or a quoted glob, are read in order as one stream: the files of a\n" +
			"rotated recording, or sessions recorded one after another. - reads standard input.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args)+len(f.read) == 0 {
				return usageError{errors.New("replay needs a session file: nstrace replay FILE... (or -r FILE)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(&f, append(f.read, args...), os.Stdout, os.Stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.read, "read", "r", nil, "read this session file (as tcpdump -r); may be repeated, and mixed with FILE arguments")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text (compact, fits the terminal), wide (everything) or json")
	f.filter.register(fl, false)
	fl.StringVar(&f.since, "since", "", "only events from this time on: 2026-11-29T03:38:18Z, 03:38:18 (UTC), 5m after the start, or -5m before the end")
	fl.StringVar(&f.until, "until", "", "only events up to this time, in the same forms as --since")
	f.alerts.register(fl, true, true)
	fl.BoolVar(&f.verify, "verify", false, "stop with status 1 at a broken seal (else a warning); an unsealed tail only warns")
	return cmd
}

func runReplay(f *replayFlags, args []string, stdout, stderr io.Writer) error {
	out, err := newOutput(f.output, stdout)
	if err != nil {
		return err
	}
	out.alertsOnly = f.alerts.alertsOnly
	run, err := openRecordedRun("replay", args, &f.filter, &f.alerts, f.since, f.until, stderr)
	if err != nil {
		return err
	}
	rec, filt, det, recorded := run.rec, run.filt, run.det, run.recorded
	defer rec.r.Close()
	first := rec.r.First()
	p := pipeline.New(pipeline.Options{Resolver: rec.res, Detector: det.detector(), Filter: filt,
		Sinks: []pipeline.Sink{out}, Warn: stderr})
	announceRecording(stderr, first, recorded)
	if err := out.start(); err != nil {
		return err
	}
	if err := replayVerified(rec, p, recorded, f.verify, stderr); err != nil {
		return err
	}
	printReplaySummary(stderr, p, det)
	return nil
}

// announceRecording says on stderr what is replayed, as live tracing says
// what it traces, and with the recorded alerts shown, what made them.
func announceRecording(stderr io.Writer, first *session.Header, recorded bool) {
	fmt.Fprintf(stderr, "nstrace: %s\n", describeRecording(first))
	if recorded {
		fmt.Fprintf(stderr, "nstrace: %s\n", describeDetection(first))
	}
}

// replayVerified replays the recording through p, checking its seals on
// the way (a broken one ends it with verify), and says the reader's
// warnings whatever the outcome. The first error is the one returned:
// reading, then the pipeline's, then a broken seal only the end shows.
func replayVerified(rec *recording, p *pipeline.Pipeline, recorded, verify bool, stderr io.Writer) error {
	sealed := sealWatch{v: rec.seals, fatal: verify, stderr: stderr}
	readErr := replaySession(rec.r, p, "replay", recorded, sealed.check)
	if err := p.Finish(); err != nil && readErr == nil {
		readErr = err
	}
	if readErr == nil {
		readErr = sealed.finish()
	}
	for _, w := range rec.r.Warnings() {
		fmt.Fprintf(stderr, "nstrace: replay %s: warning: %s\n", w.Pos, w.Msg)
	}
	return readErr
}

// printReplaySummary closes a replay as live tracing closes: what was
// seen and, with detection, the alerts.
func printReplaySummary(stderr io.Writer, p *pipeline.Pipeline, det *detection) {
	fmt.Fprintf(stderr, "nstrace: %s\n", p.Summary())
	if sum := alertSummary(p, det); sum != "" {
		fmt.Fprintf(stderr, "nstrace: %s\n", sum)
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

// sealWatch asks the recording's verifier, as replay goes, whether a seal
// broke: it warns once, or with fatal ends the replay there.
type sealWatch struct {
	v      *sealedLines
	fatal  bool
	warned bool
	stderr io.Writer
}

func (s *sealWatch) check() error {
	if s.warned || !s.v.seen {
		return nil
	}
	p, broken := s.v.Broken()
	if !broken {
		return nil
	}
	if s.fatal {
		return fmt.Errorf("replay %s: NOT verified: %s", p.Pos, sealProblem(p))
	}
	s.warned = true
	fmt.Fprintf(s.stderr, "nstrace: replay %s: warning: NOT verified: %s\n", p.Pos, sealProblem(p))
	return nil
}

// finish checks what only the end of the recording shows. Lines no seal
// covers (a recorder killed between seals) are no sign of tampering, and
// the reader already warns that such a session ends without its trailer.
func (s *sealWatch) finish() error {
	s.v.Finish()
	return s.check()
}

// sealProblem is what p says after its position, sanitised (the position
// is already).
func sealProblem(p seal.Problem) string {
	if p.Part > 0 {
		return fmt.Sprintf("part %d: %s", p.Part, render.Sanitize(p.Msg))
	}
	return render.Sanitize(p.Msg)
}
