package container

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nstrace/nstrace/tracer/event"
)

// runtimeStates are where runc and crun keep a directory per container,
// root's and rootless users' (run/user/UID/...), and what the state file
// calls the init process and its start time.
var runtimeStates = []struct {
	dir, file, runtime string
}{
	{"runc", "state.json", RuntimeRunc},
	{"crun", "status", RuntimeCrun},
}

type runtimeState struct {
	RuncPid   uint32 `json:"init_process_pid"`
	RuncStart uint64 `json:"init_process_start"`
	CrunPid   uint32 `json:"pid"`
	CrunStart uint64 `json:"process-start-time"`
}

// RuntimeInits maps the init process of each running runc or crun container
// to the container. It labels containers whose cgroups say nothing:
// rootless ones without cgroup delegation, or run with cgroups disabled.
// A state file whose process has gone, or whose pid now names another
// process (a different start time), is passed over.
func RuntimeInits(root, proc string) map[uint32]*event.Container {
	bases := []string{filepath.Join(root, "run")}
	if users, err := os.ReadDir(filepath.Join(root, "run/user")); err == nil {
		for _, u := range users {
			bases = append(bases, filepath.Join(root, "run/user", u.Name()))
		}
	}
	inits := make(map[uint32]*event.Container)
	for _, base := range bases {
		for _, rs := range runtimeStates {
			ids, err := os.ReadDir(filepath.Join(base, rs.dir))
			if err != nil {
				continue
			}
			for _, id := range ids {
				data, err := os.ReadFile(filepath.Join(base, rs.dir, id.Name(), rs.file))
				var st runtimeState
				if err != nil || json.Unmarshal(data, &st) != nil {
					continue
				}
				pid, start := max(st.RuncPid, st.CrunPid), max(st.RuncStart, st.CrunStart)
				if pid != 0 && startTime(proc, pid) == start {
					inits[pid] = &event.Container{ID: id.Name(), Runtime: rs.runtime}
				}
			}
		}
	}
	return inits
}

// startTime is field 22 of /proc/PID/stat, in clock ticks since boot; 0
// when the process is gone.
func startTime(proc string, pid uint32) uint64 {
	data, err := os.ReadFile(filepath.Join(proc, strconv.FormatUint(uint64(pid), 10), "stat"))
	if err != nil {
		return 0
	}
	// The comm in field 2 may hold spaces and parentheses: count from the last ')'.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}
