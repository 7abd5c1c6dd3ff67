package nsbench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
)

// eventLine is what the table needs from one line of a tracer's output.
type eventLine struct {
	Kind  string `json:"event"` // clone, unshare, setns, exec
	Pid   int    `json:"pid"`
	Ppid  int    `json:"ppid"`
	Error string `json:"error"` // errno name of a failed call
}

// A lineParser reads one output line; ok is false for lines that are not
// events (bpftrace's banner, a session header, a loss marker).
type lineParser func(line []byte) (ev eventLine, ok bool)

// eventKinds are the events nstrace and the peer report.
var eventKinds = map[string]bool{"clone": true, "unshare": true, "setns": true, "exec": true}

// parseNstraceLine reads a JSON Lines event, as -o json and -w write it.
func parseNstraceLine(line []byte) (eventLine, bool) {
	var ev eventLine
	if err := json.Unmarshal(line, &ev); err != nil {
		return ev, false
	}
	return ev, eventKinds[ev.Kind]
}

// parseBpftraceLine reads the peer's "EVENT pid=P ppid=PP ..." lines.
func parseBpftraceLine(line []byte) (eventLine, bool) {
	var ev eventLine
	fields := bytes.Fields(line)
	if len(fields) < 3 || !eventKinds[string(fields[0])] {
		return ev, false
	}
	ev.Kind = string(fields[0])
	var okPid, okPpid bool
	ev.Pid, okPid = intField(fields[1], "pid=")
	ev.Ppid, okPpid = intField(fields[2], "ppid=")
	if len(fields) > 3 {
		if ret, ok := intField(fields[3], "ret="); ok && ret < 0 {
			ev.Error = "E" + strconv.Itoa(-ret)
		}
	}
	return ev, okPid && okPpid
}

func intField(field []byte, name string) (int, bool) {
	v, ok := bytes.CutPrefix(field, []byte(name))
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(v))
	return n, err == nil
}

// countEvents counts the successful events of the given kind ("": any kind)
// that belong to workload process pid: its own calls, and its children's (a
// clone event names the new child as pid and its creator as ppid; a forked
// child's unshare names the workload as ppid). Failed calls are left out: a
// clone interrupted by a signal fails with ERESTARTNOINTR at the exit
// tracepoint, then the kernel restarts it and it succeeds.
func countEvents(r io.Reader, parse lineParser, kind string, pid int) (int64, error) {
	// Only a line that holds the pid's digits can match: skip the rest unparsed.
	digits := []byte(strconv.Itoa(pid))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var n int64
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, digits) {
			continue
		}
		ev, ok := parse(line)
		if ok && ev.Error == "" && (kind == "" || ev.Kind == kind) && (ev.Pid == pid || ev.Ppid == pid) {
			n++
		}
	}
	return n, sc.Err()
}

// summary is nstrace's closing line.
type summary struct {
	Events, Filtered, Flooded, Lost int64
}

var summaryLine = regexp.MustCompile(`(?m)^nstrace: (\d+) events(?: \((\d+) filtered out\))?` +
	`(?:, (\d+) past their share counted in flood records)?, (\d+) lost\b`)

// parseSummary finds `nstrace: N events, M lost` (or `N events (K filtered
// out), F past their share counted in flood records, M lost (...)`) in
// nstrace's stderr; the last one counts.
func parseSummary(stderr string) (summary, bool) {
	all := summaryLine.FindAllStringSubmatch(stderr, -1)
	if len(all) == 0 {
		return summary{}, false
	}
	m := all[len(all)-1]
	var s summary
	s.Events, _ = strconv.ParseInt(m[1], 10, 64)
	if m[2] != "" {
		s.Filtered, _ = strconv.ParseInt(m[2], 10, 64)
	}
	if m[3] != "" {
		s.Flooded, _ = strconv.ParseInt(m[3], 10, 64)
	}
	s.Lost, _ = strconv.ParseInt(m[4], 10, 64)
	return s, true
}

var bpftraceLost = regexp.MustCompile(`^Lost (\d+) events`)

// countBpftraceLost adds up bpftrace's "Lost N events" lines: records its
// perf buffers dropped.
func countBpftraceLost(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var lost int64
	for sc.Scan() {
		if m := bpftraceLost.FindSubmatch(sc.Bytes()); m != nil {
			n, _ := strconv.ParseInt(string(m[1]), 10, 64)
			lost += n
		}
	}
	return lost, sc.Err()
}
