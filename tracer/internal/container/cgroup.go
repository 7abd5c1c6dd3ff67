package container

import (
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// Cgroup ties a cgroup v2 id, which the kernel record of an event carries,
// to its path and container.
type Cgroup struct {
	ID        uint64           `json:"id"`
	Path      string           `json:"path"`
	Container *event.Container `json:"container,omitempty"`
}

// Paths lists the paths of /proc/PID/cgroup, most telling first:
// the v2 path, then systemd's v1 hierarchy, then the other v1 ones. The v2
// path alone is also returned ("" when the process has none).
func Paths(data string) (paths []string, v2 string) {
	var systemd, v1 []string
	for _, line := range strings.Split(data, "\n") {
		hier, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		ctrls, p, ok := strings.Cut(rest, ":")
		if !ok || p == "" {
			continue
		}
		switch {
		case hier == "0" && ctrls == "":
			v2 = p
		case ctrls == "name=systemd":
			systemd = append(systemd, p)
		default:
			v1 = append(v1, p)
		}
	}
	if v2 != "" {
		paths = append(paths, v2)
	}
	return append(append(paths, systemd...), v1...), v2
}

// Classifier classifies cgroup paths, remembering each answer. On cgroup v1
// and hybrid hosts the v2 path may say nothing, so it tries each hierarchy.
type Classifier struct {
	root  string           // where run/runc and run/crun live
	cache map[string]Class // by path
	files map[string]Class // by the whole of /proc/PID/cgroup
}

// NewClassifier returns a classifier that looks for runc and crun state
// under root.
func NewClassifier(root string) *Classifier {
	return &Classifier{root: root, cache: make(map[string]Class), files: make(map[string]Class)}
}

// ProcessFile is Process for the bytes of /proc/PID/cgroup, remembering
// each file's answer as Path does each path's: the processes of one
// cgroup read alike, and a known file costs a map lookup, no allocation.
func (c *Classifier) ProcessFile(data []byte) Class {
	if cl, ok := c.files[string(data)]; ok {
		return cl
	}
	s := string(data)
	cl := c.Process(s)
	if len(c.files) > 1<<12 { // churn: forget, do not grow
		clear(c.files)
	}
	c.files[s] = cl
	return cl
}

// Process classifies a process from the text of its /proc/PID/cgroup.
func (c *Classifier) Process(data string) Class {
	paths, _ := Paths(data)
	for _, p := range paths {
		if cl := c.Path(p); cl.Container != nil {
			return cl
		}
	}
	return Class{}
}

// Path classifies one cgroup path.
func (c *Classifier) Path(p string) Class {
	if cl, ok := c.cache[p]; ok {
		return cl
	}
	cl := classify(p, c.stateRuntime)
	if len(c.cache) > 1<<14 { // churn: forget, do not grow
		clear(c.cache)
		clear(c.files) // their answers came from the paths'
	}
	c.cache[p] = cl
	return cl
}

// stateRuntime names the OCI runtime keeping state for container id: a
// plain `runc run web` container has only its id to go by.
func (c *Classifier) stateRuntime(id string) string {
	if id == "" || id == "." || id == ".." {
		return ""
	}
	for _, rt := range [...]string{RuntimeRunc, RuntimeCrun} {
		if fi, err := os.Stat(filepath.Join(c.root, "run", rt, id)); err == nil && fi.IsDir() {
			return rt
		}
	}
	return ""
}

// Tree finds cgroup v2 directories by id: the id the kernel gives an
// event (bpf_get_current_cgroup_id) is the inode number of the directory.
type Tree struct {
	mount  string // where cgroup2 is mounted (under the scan root); "" if nowhere
	memory string // where the cgroup v1 memory hierarchy is; "" if nowhere
	V1     bool   // cgroup v1 hierarchies are mounted: the v2 tree may be empty
}

// OwnTree finds the cgroup hierarchies in our own mount table.
func OwnTree(root string) Tree {
	mounts, _ := procfs.ReadMountinfo(filepath.Join(root, "proc/self/mountinfo"))
	return FindTree(root, mounts)
}

// FindTree reads where cgroup2 is mounted from a mount table.
func FindTree(root string, mounts []procfs.Mount) Tree {
	var t Tree
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup2":
			if t.mount == "" {
				t.mount = filepath.Join(root, m.Point)
			}
		case "cgroup":
			t.V1 = true
			if t.memory == "" && slices.Contains(strings.Split(m.Options, ","), "memory") {
				t.memory = filepath.Join(root, m.Point)
			}
		}
	}
	return t
}

// IDOf is the cgroup id of a v2 path.
func (t *Tree) IDOf(p string) (uint64, bool) {
	if t.mount == "" {
		return 0, false
	}
	var st unix.Stat_t
	if unix.Stat(filepath.Join(t.mount, p), &st) != nil {
		return 0, false
	}
	return st.Ino, true
}

// PathOf finds the v2 path of cgroup id. open_by_handle_at with a kernfs
// file handle finds it at once (needs CAP_DAC_READ_SEARCH); otherwise the
// tree is walked.
func (t *Tree) PathOf(id uint64) (string, bool) { return pathIn(t.mount, id) }

// MemoryPathOf finds the path of a cgroup v1 memory cgroup by its id (the
// inode of its directory), as PathOf does in the v2 tree. Each cgroup
// hierarchy numbers its own: a v2 id is no memory cgroup's.
func (t *Tree) MemoryPathOf(id uint64) (string, bool) { return pathIn(t.memory, id) }

// pathIn finds the directory of kernfs id under mount, as a cgroup path.
func pathIn(mount string, id uint64) (string, bool) {
	if mount == "" || id == 0 {
		return "", false
	}
	if p, ok := pathByHandle(mount, id); ok {
		return p, true
	}
	var found string
	// The walk's own errors are skipped entry by entry: a cgroup that went
	// away mid-walk is no answer either way.
	_ = filepath.WalkDir(mount, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil && st.Ino == id {
			found = p
			return fs.SkipAll
		}
		return nil
	})
	if found == "" {
		return "", false
	}
	return relative(mount, found)
}

// fileidKernfs is FILEID_KERNFS, the handle type of cgroupfs.
const fileidKernfs = 0xfe

func pathByHandle(mount string, id uint64) (string, bool) {
	mfd, err := unix.Open(mount, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	defer unix.Close(mfd)
	var h [8]byte
	binary.NativeEndian.PutUint64(h[:], id)
	fd, err := unix.OpenByHandleAt(mfd, unix.NewFileHandle(fileidKernfs, h[:]), unix.O_PATH|unix.O_CLOEXEC)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", false
	}
	return relative(mount, p)
}

// relative turns an absolute directory under mount into a cgroup path.
func relative(mount, p string) (string, bool) {
	rel, err := filepath.Rel(mount, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", false
	}
	return filepath.Clean("/" + rel), true
}
