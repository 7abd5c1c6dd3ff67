package render

import (
	"strconv"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// reuse remembers which namespace each inode last stood for. The kernel
// gives a dead namespace's inode to the next one, of any type: a line
// naming an inode that had another identity before (another type or
// ns_id, or a destroy in between) carries "#" and its ns_id ("#new"
// without one), and so does every later line naming that inode.
type reuse struct {
	seen map[uint32]identity
}

type identity struct {
	typ    event.NsType // the base type
	nsid   uint64
	gone   bool
	reused bool
}

func newReuse() *reuse { return &reuse{seen: make(map[uint32]identity)} }

// appendMark notes c's namespace and appends its reuse mark, if any.
func (r *reuse) appendMark(b []byte, c *event.Change) []byte {
	if r == nil || c.To == 0 {
		return b
	}
	now := identity{typ: inventory.BaseType(c.Type), nsid: c.NsID, gone: c.Action == event.ActionDestroy}
	was, ok := r.seen[c.To]
	if ok {
		now.reused = was.reused || was.gone && c.Action != event.ActionDestroy || was.typ != now.typ ||
			was.nsid != 0 && now.nsid != 0 && was.nsid != now.nsid
		if now.nsid == 0 && was.typ == now.typ && !was.gone {
			now.nsid = was.nsid
		}
	}
	r.seen[c.To] = now
	if !now.reused {
		return b
	}
	if now.nsid == 0 {
		return append(b, "#new"...)
	}
	b = append(b, '#')
	return strconv.AppendUint(b, now.nsid, 10)
}
