package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/container"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// ScanOptions say where Scan looks.
type ScanOptions struct {
	// Root holds proc/, run/ and the cgroup mounts: "/" when empty, a fake
	// tree in tests.
	Root string

	// Probe asks nsfs about a namespace; nil: the kernel's ioctls
	// (ProbeNsfs). Tests answer from a table.
	Probe Prober
	// Readlink reads a link under Root; nil: os.Readlink.
	Readlink func(string) (string, error)
}

// Scan takes the inventory of every namespace on the host: those of every
// process and thread (/proc/*/ns, /proc/*/task/*/ns), those held open by a
// file descriptor, and those kept alive only by an nsfs bind mount in any
// mount namespace. Processes that vanish or refuse to be read are skipped
// without error; only an unreadable /proc is one.
func Scan(opts ScanOptions) (*Inventory, error) {
	s := newScanner(opts)
	pids, err := s.pids()
	if err != nil {
		return nil, err
	}
	for _, pid := range pids {
		s.process(pid)
	}
	s.mounts()
	return s.inventory(), nil
}

// scanner is the state of one Scan.
type scanner struct {
	root, proc string
	probe      Prober
	readlink   func(string) (string, error)
	now        time.Time
	ns         map[Key]*scanned
	cls        *container.Classifier
	mntPids    map[uint32]uint32 // a member pid of each mount namespace
	v2paths    map[string]container.Class
	host       map[Key]bool
	inits      map[uint32]*event.Container // runc/crun init pids
	unreadable int
}

// scanned is a namespace being inventoried.
type scanned struct {
	ns      Namespace
	lastPid uint32 // the process last counted, so threads count once
	members container.Consensus
}

func newScanner(opts ScanOptions) *scanner {
	root := opts.Root
	if root == "" {
		root = "/"
	}
	s := &scanner{root: root, proc: filepath.Join(root, "proc"), probe: opts.Probe,
		readlink: opts.Readlink, now: time.Now(), ns: make(map[Key]*scanned),
		cls: container.NewClassifier(root), mntPids: make(map[uint32]uint32),
		v2paths: make(map[string]container.Class), host: make(map[Key]bool)}
	if s.probe == nil {
		s.probe = ProbeNsfs
	}
	if s.readlink == nil {
		s.readlink = os.Readlink
	}
	s.inits = container.RuntimeInits(root, s.proc)
	return s
}

// pids lists /proc's processes in numeric order, so the first member seen
// of a namespace is its lowest pid.
func (s *scanner) pids() ([]uint32, error) {
	entries, err := os.ReadDir(s.proc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.proc, err)
	}
	var pids []uint32
	for _, e := range entries {
		if pid, err := strconv.ParseUint(e.Name(), 10, 32); err == nil && pid > 0 {
			pids = append(pids, uint32(pid))
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// nsLinks are a task's namespace inodes, indexed by event.NsType.
type nsLinks [event.NumNsTypes]uint32

// readNsLinks reads the links of a task's ns directory. ok says whether
// any could be read; denied whether one was refused (EACCES): a zombie or
// a vanished task reads as neither.
func (s *scanner) readNsLinks(dir string, links *nsLinks) (ok, denied bool) {
	for i := range links {
		t := event.NsType(i)
		target, err := s.readlink(dir + "/" + t.String())
		if err != nil {
			denied = denied || errors.Is(err, fs.ErrPermission)
			continue
		}
		if lt, ino, good := procfs.ParseNsLink(target); good && lt == BaseType(t) {
			links[i] = ino
			ok = true
		}
	}
	return ok, denied
}

// process inventories one process: its threads' namespaces, its cgroup and
// its open namespace file descriptors.
func (s *scanner) process(pid uint32) {
	dir := filepath.Join(s.proc, strconv.FormatUint(uint64(pid), 10))
	var members []*scanned
	var links nsLinks
	ok, denied := s.readNsLinks(dir+"/ns", &links)
	if ok {
		members = s.task(pid, dir, dir+"/ns", &links, members)
		if pid == 2 && isKthreadd(dir) {
			for i, ino := range links {
				s.host[KeyOf(event.NsType(i), ino)] = true
			}
		}
	}
	if tasks, err := os.ReadDir(dir + "/task"); err == nil && len(tasks) > 1 {
		for _, task := range tasks {
			if task.Name() == strconv.FormatUint(uint64(pid), 10) {
				continue
			}
			var tl nsLinks
			tdir := dir + "/task/" + task.Name() + "/ns"
			if tok, tdenied := s.readNsLinks(tdir, &tl); tok {
				ok = true
				members = s.task(pid, dir, tdir, &tl, members)
			} else {
				denied = denied || tdenied
			}
		}
	}
	if !ok {
		if denied {
			s.unreadable++
		}
		return
	}
	if _, have := s.mntPids[links[event.Mnt]]; !have && links[event.Mnt] != 0 {
		s.mntPids[links[event.Mnt]] = pid
	}
	if data, err := os.ReadFile(dir + "/cgroup"); err == nil {
		cl := s.cls.Process(string(data))
		if c := s.inits[pid]; c != nil && (cl.Container == nil || cl.Container.Runtime == container.RuntimeSystemd) {
			cl = container.Class{Container: c}
		}
		for _, m := range members {
			m.members.Add(cl)
		}
		if _, v2 := container.Paths(string(data)); v2 != "" {
			s.v2paths[v2] = s.cls.Path(v2)
		}
	}
	s.fds(dir)
}

// task counts process pid (at procDir) as a member of the namespaces in
// links, read from nsDir (the *_for_children links only reference theirs),
// and returns members grown by those new to pid.
func (s *scanner) task(pid uint32, procDir, nsDir string, links *nsLinks, members []*scanned) []*scanned {
	for i, ino := range links {
		if ino == 0 {
			continue
		}
		t := event.NsType(i)
		n := s.get(t, ino, nsDir+"/"+t.String())
		if t != BaseType(t) || n.lastPid == pid {
			continue
		}
		n.lastPid = pid
		n.ns.Processes++
		if n.ns.PID == 0 {
			n.ns.PID = pid
			n.ns.Comm, n.ns.UID = processMeta(procDir)
		}
		members = append(members, n)
	}
	return members
}

// get returns the namespace, adding it on first sight and asking nsfs about
// it at once, through path, while whatever holds it is still there.
func (s *scanner) get(t event.NsType, ino uint32, path string) *scanned {
	k := KeyOf(t, ino)
	if n, ok := s.ns[k]; ok {
		return n
	}
	n := &scanned{ns: Namespace{Type: BaseType(t), Inode: ino}}
	s.ns[k] = n
	known := func(k Key) bool { _, ok := s.ns[k]; return ok }
	for _, f := range s.probe(path, t, ino, known) {
		m, ok := s.ns[KeyOf(f.Type, f.Inode)]
		if !ok {
			m = &scanned{ns: Namespace{Type: f.Type, Inode: f.Inode}}
			s.ns[KeyOf(f.Type, f.Inode)] = m
		}
		f.Apply(&m.ns)
	}
	return n
}

// fds counts the namespaces that the process holds open.
func (s *scanner) fds(dir string) {
	entries, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		p := dir + "/fd/" + e.Name()
		target, err := s.readlink(p)
		if err != nil {
			continue
		}
		if t, ino, ok := procfs.ParseNsLink(target); ok {
			s.get(t, ino, p).ns.FDs++
		}
	}
}

// mounts adds the nsfs bind mounts of every mount namespace seen: ours
// first, then one member's view of each other one.
func (s *scanner) mounts() {
	self := uint32(0)
	var l nsLinks
	if ok, _ := s.readNsLinks(s.proc+"/self/ns", &l); ok {
		self = l[event.Mnt]
	}
	s.MountTable(s.proc+"/self/mountinfo", s.root)
	pids := make([]uint32, 0, len(s.mntPids))
	for mnt, pid := range s.mntPids {
		if mnt != self {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	for _, pid := range pids {
		dir := filepath.Join(s.proc, strconv.FormatUint(uint64(pid), 10))
		s.MountTable(dir+"/mountinfo", dir+"/root")
	}
}

// MountTable reads one mountinfo; root is where its mount points are
// reachable from here.
func (s *scanner) MountTable(mountinfo, root string) {
	mounts, _ := procfs.ReadMountinfo(mountinfo)
	for _, m := range procfs.NsfsMounts(mounts) {
		s.get(m.Type, m.Inode, filepath.Join(root, m.Point)).ns.AddMount(m.Point)
	}
}

// inventory sorts what was found, by inode as lsns does, and marks the
// initial namespaces.
func (s *scanner) inventory() *Inventory {
	inv := &Inventory{Time: s.now, Unreadable: s.unreadable}
	for k, n := range s.ns {
		n.ns.Host = s.host[k] || IsInitial(n.ns.Type, n.ns.Inode)
		if !n.ns.Host {
			n.ns.Container = n.members.Result()
		}
		inv.Namespaces = append(inv.Namespaces, n.ns)
	}
	SortNamespaces(inv.Namespaces)
	tree := container.OwnTree(s.root)
	for p, cl := range s.v2paths {
		if id, ok := tree.IDOf(p); ok {
			inv.Cgroups = append(inv.Cgroups, container.Cgroup{ID: id, Path: p, Container: cl.Container})
		}
	}
	SortCgroups(inv.Cgroups)
	return inv
}

// processMeta reads the comm and effective uid of the process at dir.
func processMeta(dir string) (comm string, uid uint32) {
	if b, err := os.ReadFile(dir + "/comm"); err == nil {
		comm = strings.TrimSuffix(string(b), "\n")
	}
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		if v := statusField(string(b), "Uid:", 1); v >= 0 {
			uid = uint32(v)
		}
	}
	return comm, uid
}

// isKthreadd tells whether dir is the kernel's thread spawner, which lives
// in the initial namespaces: pid 2, parent 0, comm kthreadd.
func isKthreadd(dir string) bool {
	comm, _ := processMeta(dir)
	b, err := os.ReadFile(dir + "/status")
	return err == nil && comm == "kthreadd" && statusField(string(b), "PPid:", 0) == 0
}

// statusField reads the n-th number after key in /proc/PID/status; -1 when
// absent.
func statusField(status, key string, n int) int64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if n < len(f) {
				if v, err := strconv.ParseInt(f[n], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}
