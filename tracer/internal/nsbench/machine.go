package nsbench

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// pinHarness keeps the harness, and so the tracers it starts (a child
// inherits the mask of the thread that forks it), off the workloads' CPU.
// Every thread is pinned: a CPU mask belongs to a thread, and a new thread
// inherits its creator's.
func pinHarness(workloadCPU int) error {
	if workloadCPU < 0 || runtime.NumCPU() < 2 {
		return nil
	}
	var set unix.CPUSet
	for cpu := range runtime.NumCPU() {
		if cpu != workloadCPU {
			set.Set(cpu)
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pin thread %d: %w", tid, err)
		}
	}
	return nil
}

func pinning(workloadCPU int) string {
	n := runtime.NumCPU()
	switch {
	case workloadCPU < 0:
		return fmt.Sprintf("%d CPUs, no pinning", n)
	case n < 2:
		return "1 CPU: workloads and tracers share it"
	}
	return fmt.Sprintf("%d CPUs: workloads pinned to CPU %d, tracers and harness to the others", n, workloadCPU)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// activity is a snapshot of the CPU time every process has used, to tell
// afterwards how much of the machine others took during the runs.
type activity struct {
	ticks map[int]procTicks
	at    time.Time
	busy  float64 // CPU-seconds the whole machine has been busy (/proc/stat)
	ours  float64 // CPU-seconds this process and its reaped children used
}

type procTicks struct {
	comm  string
	ticks uint64 // utime + stime, in clock ticks
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func snapshotActivity() activity {
	a := activity{ticks: make(map[int]procTicks), at: time.Now(), busy: machineBusy(), ours: ourCPU()}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	self := os.Getpid()
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		if p, ok := parseProcStat(string(b)); ok {
			a.ticks[pid] = p
		}
	}
	return a
}

// machineBusy reads the CPU time all CPUs spent not idle, from /proc/stat.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseCPULine(line)
}

// parseCPULine reads the aggregate "cpu" line: every field is time in
// ticks; idle and iowait are the idle ones.
func parseCPULine(line string) float64 {
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy uint64
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest time is in user already
			busy += n
		}
	}
	return float64(busy) / clockTicks
}

// ourCPU is the CPU time of this process and of every descendant reaped.
func ourCPU() float64 {
	var self, children unix.Rusage
	// These arguments are valid: getrusage cannot fail on them.
	_ = unix.Getrusage(unix.RUSAGE_SELF, &self)
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &children)
	sec := func(tv unix.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	return sec(self.Utime) + sec(self.Stime) + sec(children.Utime) + sec(children.Stime)
}

// othersShare is how much of one CPU, on average, went to anything but
// nsbench and its children between the snapshots: short-lived processes
// and kernel threads included.
func othersShare(before, after activity) float64 {
	wall := after.at.Sub(before.at).Seconds()
	if wall <= 0 {
		return 0
	}
	return max(0, (after.busy-before.busy)-(after.ours-before.ours)) / wall
}

// parseProcStat reads comm, utime and stime from /proc/PID/stat. comm is
// in parentheses and may hold spaces or parentheses itself.
func parseProcStat(stat string) (procTicks, bool) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return procTicks{}, false
	}
	f := strings.Fields(stat[end+1:])
	// f[0] is the state (field 3); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return procTicks{}, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	return procTicks{comm: stat[open+1 : end], ticks: utime + stime}, err1 == nil && err2 == nil
}

// othersSince names the processes, not ours, that used at least a tenth of
// a CPU between the two snapshots, busiest first.
func othersSince(before, after activity) []string {
	type use struct {
		name string
		sec  float64
	}
	var uses []use
	wall := after.at.Sub(before.at).Seconds()
	for pid, p := range after.ticks {
		d := p.ticks
		if b, ok := before.ticks[pid]; ok && b.ticks <= d {
			d -= b.ticks
		}
		if sec := float64(d) / clockTicks; wall > 0 && sec/wall >= 0.1 {
			uses = append(uses, use{fmt.Sprintf("%s (pid %d)", p.comm, pid), sec})
		}
	}
	slices.SortFunc(uses, func(a, b use) int { return cmp.Compare(b.sec, a.sec) })
	var out []string
	for _, u := range uses {
		out = append(out, fmt.Sprintf("%s %.0f%% of a CPU", u.name, 100*u.sec/wall))
	}
	return out
}
