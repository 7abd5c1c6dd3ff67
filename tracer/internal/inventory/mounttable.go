package inventory

import (
	"bytes"
	"cmp"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/procfs"
)

// MountTable follows the nsfs bind mounts of our own mount namespace, where
// `ip netns add` and container runtimes on the host name namespaces. The
// kernel flags an open mountinfo file (POLLPRI|POLLERR) after every change
// to the mount namespace it shows, so the table is read again only after a
// change: creating and joining namespaces costs no mount table read.
//
// A mount seen once names its namespace for the grace period even after it
// is gone, when nsfs gave its 64-bit id: `ip netns add X; ip netns del X`
// names X's events the same however late they are read.
type MountTable struct {
	// readMu serialises reading the file: the resolver and the mount
	// watcher both may. Everything from fd to current is read's.
	readMu   sync.Mutex
	path     string   // the mountinfo file
	root     string   // where its mount points are reachable from here
	fd       int      // mountinfo, open; -1 when it cannot be
	pollable bool     // fd is a proc file: poll tells of changes
	stamp    [2]int64 // not pollable (a test's file): size and mtime when read
	read     bool     // read at least once
	reads    int      // times read
	probe    Prober
	grace    time.Duration

	buf     []byte
	current map[int]MountRec // nsfs mounts there now, by mount id
	gone    []MountRec       // unmounted ones still remembered

	// mu guards what lookups use, swapped in after a read: a lookup
	// never waits for a read.
	mu    sync.Mutex
	byKey map[Key][]MountRec // current and gone, by namespace
	fresh []MountRec         // mounts new since the resolver last took them

	// changes counts reads that found new mounts; the resolver compares
	// it with its own count to know, with one atomic load, that there is
	// something to take.
	changes atomic.Uint64
}

// maxFresh bounds the mounts kept for a resolver that takes none (no event
// came): past it the oldest go; lookups by namespace still find them.
const maxFresh = 4096

// maxGone bounds the unmounted mounts remembered, which every read indexes
// again: netns churn (`ip netns add; ip netns del`) stays cheap to follow.
const maxGone = 4096

// MountRec is one nsfs bind mount.
type MountRec struct {
	Key   Key    // the namespace mounted
	id    int    // mountinfo's mount id
	root  string // "net:[4026532177]"
	Point string // as mountinfo shows it
	nsID  uint64 // of the namespace mounted, when nsfs says; 0 otherwise
	found bool   // nsfs answered for the mount at all
	gone  time.Time
}

// Holds tells whether the mount holds the namespace with 64-bit id nsID
// rather than one that had its inode before. Without an id on either side
// (before Linux 6.18) the inode is all there is to go by.
// A mount nsfs could not be asked about names only namespaces without an
// id.
func (m *MountRec) Holds(nsID uint64) bool {
	return nsID == 0 || m.found && (m.nsID == 0 || m.nsID == nsID)
}

// NewMountTable opens the mountinfo file at path, whose mount points are
// reachable under root, asking probe about the namespaces its nsfs mounts
// hold. Sync reads it.
func NewMountTable(path, root string, probe Prober, grace time.Duration) *MountTable {
	t := &MountTable{path: path, root: root, fd: -1, probe: probe, grace: grace,
		current: make(map[int]MountRec), byKey: make(map[Key][]MountRec)}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return t
	}
	t.fd = fd
	var st unix.Statfs_t
	t.pollable = unix.Fstatfs(fd, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
	return t
}

// Sync reads the table again if the mount namespace changed since the last
// read: one poll(2) when nothing changed. Any mount made before sync was
// called is in the table when it returns.
func (t *MountTable) Sync() {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if t.fd < 0 {
		return
	}
	if changed := t.changed(); t.read && !changed {
		return
	}
	t.reread(time.Now())
}

// changed tells whether the file changed since it was read.
func (t *MountTable) changed() bool {
	if t.pollable {
		fds := [1]unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLPRI}}
		n, err := unix.Poll(fds[:], 0)
		return err != nil || n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0
	}
	var st unix.Stat_t
	if unix.Fstat(t.fd, &st) != nil {
		return true
	}
	stamp := [2]int64{st.Size, st.Mtim.Nano()}
	if stamp == t.stamp {
		return false
	}
	t.stamp = stamp
	return true
}

// reread reads the mountinfo file from the start and takes in what
// changed. Only nsfs lines are parsed.
func (t *MountTable) reread(now time.Time) {
	data, ok := t.readAll()
	if !ok {
		return
	}
	t.read, t.reads = true, t.reads+1
	seen, added := t.nsfsMounts(data)
	t.gone, t.current = t.unmounted(seen, now), seen
	t.publish(indexByKey(t.current, t.gone), added)
}

// nsfsMounts parses the nsfs lines of a mountinfo file: every nsfs mount
// there now by mount id, and those not in the table before. Only a new
// mount costs an nsfs probe; one already known keeps its record.
func (t *MountTable) nsfsMounts(data []byte) (seen map[int]MountRec, added []MountRec) {
	seen = make(map[int]MountRec, len(t.current))
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		m, typ, ino, ok := parseNsfsLine(line)
		if !ok {
			continue
		}
		rec, had := t.current[m.ID]
		if !had || !rec.sameMount(m.Root, m.Point) {
			rec = t.newMountRec(m, typ, ino)
			added = append(added, rec)
		}
		seen[m.ID] = rec
	}
	return seen, added
}

// parseNsfsLine parses a mountinfo line if it is an nsfs mount, telling
// which namespace it holds. Other lines are skipped before any parsing.
func parseNsfsLine(line []byte) (m procfs.Mount, typ event.NsType, ino uint32, ok bool) {
	if !bytes.Contains(line, []byte(" - nsfs ")) {
		return m, 0, 0, false
	}
	if m, ok = procfs.ParseMountLine(string(line)); !ok {
		return m, 0, 0, false
	}
	typ, ino, ok = procfs.ParseNsLink(m.Root)
	return m, typ, ino, ok
}

// newMountRec records a mount first seen, asking nsfs for the 64-bit id
// of the namespace it holds.
func (t *MountTable) newMountRec(m procfs.Mount, typ event.NsType, ino uint32) MountRec {
	rec := MountRec{Key: KeyOf(typ, ino), id: m.ID, root: m.Root, Point: m.Point}
	if fs := t.probe(filepath.Join(t.root, m.Point), typ, ino, func(Key) bool { return true }); len(fs) > 0 {
		rec.nsID, rec.found = fs[0].NsID, true
	}
	return rec
}

// sameMount tells whether the mount still shows the same namespace at the
// same point; a mount id can be reused for another.
func (m *MountRec) sameMount(root, point string) bool {
	return m.root == root && m.Point == point
}

// unmounted is the new list of gone mounts: those remembered within the
// grace period, then those of the table no longer in seen. Only a mount
// whose namespace id nsfs gave is remembered, since without one a later
// namespace with the same inode could not be told apart from it.
func (t *MountTable) unmounted(seen map[int]MountRec, now time.Time) []MountRec {
	kept := t.gone[:0]
	for _, g := range t.gone {
		if now.Sub(g.gone) <= t.grace {
			kept = append(kept, g)
		}
	}
	for id, rec := range t.current {
		if n, ok := seen[id]; (!ok || !n.sameMount(rec.root, rec.Point)) && rec.nsID != 0 {
			rec.gone = now
			kept = append(kept, rec)
		}
	}
	if over := len(kept) - maxGone; over > 0 {
		kept = append(kept[:0], kept[over:]...) // the oldest go first
	}
	return kept
}

// indexByKey indexes the current and gone mounts by the namespace they
// hold, each namespace's in mount id order.
func indexByKey(current map[int]MountRec, gone []MountRec) map[Key][]MountRec {
	byKey := make(map[Key][]MountRec, len(current)+len(gone))
	for _, rec := range current {
		byKey[rec.Key] = append(byKey[rec.Key], rec)
	}
	for _, rec := range gone {
		byKey[rec.Key] = append(byKey[rec.Key], rec)
	}
	for _, recs := range byKey {
		slices.SortFunc(recs, func(a, b MountRec) int { return cmp.Compare(a.id, b.id) })
	}
	return byKey
}

// publish swaps in what lookups use after a read, under mu alone, so a
// lookup never waits for a read.
func (t *MountTable) publish(byKey map[Key][]MountRec, added []MountRec) {
	t.mu.Lock()
	t.byKey = byKey
	t.fresh = append(t.fresh, added...)
	if over := len(t.fresh) - maxFresh; over > 0 {
		t.fresh = append(t.fresh[:0], t.fresh[over:]...)
	}
	t.mu.Unlock()
	if len(added) > 0 {
		t.changes.Add(1)
	}
}

// readAll reads the whole file through the open descriptor, into a buffer
// kept for the next time.
func (t *MountTable) readAll() ([]byte, bool) {
	if _, err := unix.Seek(t.fd, 0, 0); err != nil {
		return nil, false
	}
	if cap(t.buf) == 0 {
		t.buf = make([]byte, 0, 64<<10)
	}
	buf := t.buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(t.fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	t.buf = buf
	return buf, true
}

// Lookup calls fn with each mount point known to hold namespace k with
// 64-bit id nsID, in mount id order.
func (t *MountTable) Lookup(k Key, nsID uint64, fn func(point string)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	recs := t.byKey[k]
	for i := range recs {
		if recs[i].Holds(nsID) {
			fn(recs[i].Point)
		}
	}
}

// TakeFresh calls fn with each mount new since the last call.
func (t *MountTable) TakeFresh(fn func(rec *MountRec)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.fresh {
		fn(&t.fresh[i])
	}
	t.fresh = t.fresh[:0]
}

// Changes counts the reads that found new mounts: a reader that remembers
// it knows, with one atomic load, when TakeFresh has something.
func (t *MountTable) Changes() uint64 { return t.changes.Load() }

// Reads counts the times the table was read.
func (t *MountTable) Reads() int {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	return t.reads
}
