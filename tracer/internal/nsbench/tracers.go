package nsbench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// A tracer is a column of the table: a way of capturing the events.
type tracer struct {
	Name     string // JSON key
	Title    string // column header
	recorder bool   // nstrace -w: the same BPF programs as -o json
	floor    bool   // empty programs: no events, no costs to report
	parse    lineParser
	start    func(dir string) (*session, error)
	lost     func(*session) (summary, error) // what it says it handled, counted past their share, and dropped
	nstrace  bool                            // a build of nstrace: its CPU per event is measured
}

// nstraceTracer runs `nstrace trace`, writing JSON Lines to a file: with
// -o json on stdout, or with record, the session recorder (-q -w FILE).
// A baseline is another build of nstrace, compared in the same run.
func nstraceTracer(bin string, record, baseline bool) tracer {
	t := tracer{Name: "nstrace-json", Title: "nstrace -o json", parse: parseNstraceLine, nstrace: true}
	if record {
		t.Name, t.Title, t.recorder = "nstrace-w", "nstrace -w", true
	}
	if baseline {
		t.Name, t.Title = "baseline-"+t.Name, "baseline "+t.Title
	}
	t.start = func(dir string) (*session, error) {
		ready := filepath.Join(dir, t.Name+".ready")
		events := filepath.Join(dir, t.Name+".jsonl")
		for _, p := range []string{ready, events} {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return nil, err
			}
		}
		cmd := exec.Command(bin, "trace", "--ready-file", ready)
		if record {
			cmd.Args = append(cmd.Args, "-q", "-w", events)
		} else {
			f, err := os.Create(events)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			cmd.Args = append(cmd.Args, "-o", "json")
			cmd.Stdout = f
		}
		return startSession(cmd, events, fileExists(ready))
	}
	t.lost = func(s *session) (summary, error) {
		sum, ok := parseSummary(s.stderr.String())
		if !ok {
			return summary{}, fmt.Errorf("%s printed no summary: %q", t.Title, s.stderr.String())
		}
		return sum, nil
	}
	return t
}

// nstraceRecords reports whether this nstrace can record sessions (-w).
func nstraceRecords(bin string) (bool, error) {
	out, err := exec.Command(bin, "trace", "--help").CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("%s trace --help: %w: %s", bin, err, out)
	}
	return listsWriteFlag(string(out)), nil
}

var writeFlag = regexp.MustCompile(`(?m)^\s*-w[,\s]`)

func listsWriteFlag(help string) bool { return writeFlag.MatchString(help) }

// bpftraceTracer runs the peer script with its output in a file. bpftrace
// prints "Attaching N probes..." before it attaches them (and N counts END,
// which needs no attachment), so it is ready once the kernel shows, through
// its file descriptors, a program on every attach point the script names.
func bpftraceTracer(bin, script string) (tracer, error) {
	t := tracer{Name: "bpftrace", Title: "bpftrace", parse: parseBpftraceLine}
	text, err := os.ReadFile(script)
	if err != nil {
		return t, err
	}
	points := attachPoints(text)
	if points == 0 {
		return t, fmt.Errorf("%s: no attach points found (want one a line, e.g. tracepoint:sched:sched_process_fork)", script)
	}
	t.start = func(dir string) (*session, error) {
		events := filepath.Join(dir, "bpftrace.out")
		if err := os.Remove(events); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		cmd := exec.Command(bin, "-o", events, script)
		return startSession(cmd, events, func(s *session) (bool, error) {
			if _, ok := attachingProbes(events); !ok {
				return false, nil
			}
			attached, err := attachedPrograms(s.pid())
			return attached >= points, err
		})
	}
	t.lost = func(s *session) (summary, error) {
		f, err := os.Open(s.events)
		if err != nil {
			return summary{}, err
		}
		defer f.Close()
		lost, err := countBpftraceLost(f)
		return summary{Lost: lost}, err
	}
	return t, nil
}

var attachPoint = regexp.MustCompile(`(?m)^(?:tracepoint|rawtracepoint|kprobe|kretprobe|uprobe|uretprobe|usdt|kfunc|kretfunc|fentry|fexit):\S+`)

// attachPoints counts the probes of a bpftrace script that the kernel
// attaches (not BEGIN or END), written one a line.
func attachPoints(script []byte) int { return len(attachPoint.FindAll(script, -1)) }

var attaching = regexp.MustCompile(`^Attaching (\d+) probes?\.\.\.`)

// attachingProbes reads how many probes bpftrace announced it would attach.
func attachingProbes(path string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	line, _, _ := bytes.Cut(buf[:n], []byte("\n"))
	m := attaching.FindSubmatch(line)
	if m == nil {
		return 0, false
	}
	probes, err := strconv.Atoi(string(m[1]))
	return probes, err == nil
}
