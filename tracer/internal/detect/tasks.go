package detect

import (
	"github.com/nstrace/nstrace/tracer/event"
)

// task is what the detector knows of one thread: the namespaces events
// showed it in, and what its rules remember about it. The kernel reports no
// exits, so tasks are kept in a table of bounded size and the one unseen
// for longest is forgotten first.
type task struct {
	tid        uint32
	prev, next int32 // recency list; -1 ends it

	known uint16                             // bit t: ns[t] holds the task's namespace of type t
	ns    [event.NumNsTypes]uint32           // inode per type
	ctr   [event.NumNsTypes]*event.Container // the container that namespace belongs to, where resolution named one

	// Round trips (`ip netns add`: unshare net, then setns back): the
	// namespace of each type the task itself last left, and its identity
	// generation then.
	left    [event.NumNsTypes]uint32
	leftGen [event.NumNsTypes]uint32
	gen     uint32 // bumped whenever an identity namespace changes

	probe probe // what /proc last said of its identity namespaces (probe.go)
}

// has reports whether the task's namespace of type t is known.
func (t *task) has(ty event.NsType) bool { return t.known&(1<<ty) != 0 }

// set records that the task is in namespace ino of type ty.
func (t *task) set(ty event.NsType, ino uint32, ctr *event.Container) {
	// Learning a namespace that was unknown is no change of identity.
	if isIdentity(ty) && t.has(ty) && t.ns[ty] != ino {
		t.gen++
	}
	t.known |= 1 << ty
	t.ns[ty] = ino
	t.ctr[ty] = ctr
}

// inherit makes t a copy of what is known of parent, keeping t's place in
// the table and forgetting what only t itself did.
func (t *task) inherit(parent *task) {
	t.known, t.ns, t.ctr, t.gen = parent.known, parent.ns, parent.ctr, parent.gen
	t.left, t.leftGen = [event.NumNsTypes]uint32{}, [event.NumNsTypes]uint32{}
}

// reset forgets everything about t but its tid, place in the table and
// last /proc reading, which says when it was taken (probe.go).
func (t *task) reset() {
	tid, prev, next, pr := t.tid, t.prev, t.next, t.probe
	*t = task{tid: tid, prev: prev, next: next, probe: pr}
}

// taskTable holds at most max tasks, in a slice indexed by a map, with an
// intrusive recency list: lookups and evictions allocate nothing once the
// table is full.
type taskTable struct {
	max        int
	tasks      []task
	index      map[uint32]int32
	head, tail int32 // most and least recently used; -1 when empty
}

func newTaskTable(max int) *taskTable {
	// The whole capacity up front: a *task stays valid across touch.
	return &taskTable{max: max, tasks: make([]task, 0, max), index: make(map[uint32]int32, max), head: -1, tail: -1}
}

// get returns the task for tid, or nil.
func (tt *taskTable) get(tid uint32) *task {
	i, ok := tt.index[tid]
	if !ok {
		return nil
	}
	return &tt.tasks[i]
}

// touch returns tid's task, making it the most recent; a new one (empty)
// when tid was unknown, evicting the least recent when the table is full.
// fresh says whether it is new.
func (tt *taskTable) touch(tid uint32) (t *task, fresh bool) {
	if i, ok := tt.index[tid]; ok {
		if i != tt.head { // a churning thread is most often the most recent already
			tt.unlink(i)
			tt.pushFront(i)
		}
		return &tt.tasks[i], false
	}
	var i int32
	if len(tt.tasks) < tt.max {
		tt.tasks = append(tt.tasks, task{})
		i = int32(len(tt.tasks) - 1)
	} else {
		i = tt.tail
		tt.unlink(i)
		delete(tt.index, tt.tasks[i].tid)
	}
	tt.tasks[i] = task{tid: tid}
	tt.index[tid] = i
	tt.pushFront(i)
	return &tt.tasks[i], true
}

func (tt *taskTable) unlink(i int32) {
	t := &tt.tasks[i]
	if t.prev >= 0 {
		tt.tasks[t.prev].next = t.next
	} else {
		tt.head = t.next
	}
	if t.next >= 0 {
		tt.tasks[t.next].prev = t.prev
	} else {
		tt.tail = t.prev
	}
	t.prev, t.next = -1, -1
}

func (tt *taskTable) pushFront(i int32) {
	t := &tt.tasks[i]
	t.prev, t.next = -1, tt.head
	if tt.head >= 0 {
		tt.tasks[tt.head].prev = i
	}
	tt.head = i
	if tt.tail < 0 {
		tt.tail = i
	}
}

// len is the number of tasks held.
func (tt *taskTable) len() int { return len(tt.index) }
