package nsbench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// taskFdQuery is the BPF_TASK_FD_QUERY part of union bpf_attr.
type taskFdQuery struct {
	Pid         uint32
	Fd          uint32
	Flags       uint32
	BufLen      uint32
	Buf         uint64
	ProgID      uint32
	FdType      uint32
	ProbeOffset uint64
	ProbeAddr   uint64
}

// attachedPrograms counts the file descriptors of process pid through which
// a BPF program is attached to a tracepoint, kprobe or uprobe.
func attachedPrograms(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		q := taskFdQuery{Pid: uint32(pid), Fd: uint32(fd)}
		_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_TASK_FD_QUERY,
			uintptr(unsafe.Pointer(&q)), unsafe.Sizeof(q))
		if errno == 0 && q.ProgID != 0 {
			n++
		}
	}
	return n, nil
}

// otherTracers lists the processes that hold BPF programs attached to
// tracepoints: their programs run in the untraced runs too.
func otherTracers() []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []string
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == os.Getpid() {
			continue
		}
		n, err := attachedPrograms(pid)
		if err != nil || n == 0 {
			continue
		}
		comm, _ := os.ReadFile(d + "/comm")
		found = append(found, fmt.Sprintf("pid %d (%s, %d probes)", pid, strings.TrimSpace(string(comm)), n))
	}
	return found
}

// progCost is what the kernel measured of one program while stats were on.
type progCost struct {
	ID       ebpf.ProgramID `json:"id"` // names are cut to 15 characters: sys_enter_clone(3)
	Workload string         `json:"workload,omitempty"`
	Tracer   string         `json:"tracer"`
	Program  string         `json:"program"`
	Runs     uint64         `json:"runs"`
	Runtime  int64          `json:"run_time_ns"`
	NsPerRun float64        `json:"ns_per_run"`
}

// costsBetween is what each program ran between two readings of the
// totals, leaving out programs that did not run.
func costsBetween(workload string, before, after []progCost) []progCost {
	old := make(map[ebpf.ProgramID]progCost)
	for _, c := range before {
		old[c.ID] = c
	}
	var out []progCost
	for _, c := range after {
		d := progCost{ID: c.ID, Workload: workload, Tracer: c.Tracer, Program: c.Program,
			Runs: c.Runs - old[c.ID].Runs, Runtime: c.Runtime - old[c.ID].Runtime}
		if d.Runs == 0 {
			continue
		}
		d.NsPerRun = float64(d.Runtime) / float64(d.Runs)
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Runs > out[j].Runs })
	return out
}

// enableStats turns on run_time_ns/run_cnt accounting (as the sysctl
// kernel.bpf_stats_enabled=1 does) until the returned Closer is closed.
func enableStats() (interface{ Close() error }, error) {
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return nil, fmt.Errorf("enable BPF stats: %w", err)
	}
	return c, nil
}

// programCosts reads the run totals of every program process pid holds, by
// the prog_id its file descriptors show in /proc/PID/fdinfo.
func programCosts(name string, pid int) ([]progCost, error) {
	ids, err := programIDs(pid)
	if err != nil {
		return nil, err
	}
	var costs []progCost
	for _, id := range ids {
		prog, err := ebpf.NewProgramFromID(id)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("program %d: %w", id, err)
		}
		info, err := prog.Info()
		stats, serr := prog.Stats()
		prog.Close()
		if err = errors.Join(err, serr); err != nil {
			return nil, fmt.Errorf("program %d: %w", id, err)
		}
		costs = append(costs, progCost{ID: id, Tracer: name, Program: info.Name,
			Runs: stats.RunCount, Runtime: stats.Runtime.Nanoseconds()})
	}
	return costs, nil
}

func programIDs(pid int) ([]ebpf.ProgramID, error) {
	paths, err := filepath.Glob(fmt.Sprintf("/proc/%d/fdinfo/*", pid))
	if err != nil {
		return nil, err
	}
	seen := make(map[ebpf.ProgramID]bool)
	var ids []ebpf.ProgramID
	for _, p := range paths {
		id, ok := fdinfoProgID(p)
		if ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// fdinfoProgID finds the "prog_id:" line that program and link fds show.
func fdinfoProgID(path string) (ebpf.ProgramID, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "prog_id:"); ok {
			id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			return ebpf.ProgramID(id), err == nil
		}
	}
	return 0, false
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

// parseVmRSS reads the VmRSS line of /proc/PID/status, in KiB.
func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS line")
}
