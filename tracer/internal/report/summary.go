package report

import (
	"cmp"
	"slices"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/filter"
	"github.com/nstrace/nstrace/tracer/internal/inventory"
)

// typeOrder is the order of the type groups: what security reviews ask
// about first comes first.
var typeOrder = []event.NsType{event.User, event.Net, event.Pid, event.Mnt, event.UTS, event.IPC, event.Cgroup, event.Time}

// tally counts events as they come.
type tally struct {
	kinds   [event.Lost + 1]int
	types   [event.NumNsTypes]TypeCounts // by base type
	actions [event.ActionDestroy + 1]int
	errors  map[string]int
	failed  int
	lost    uint64
	losses  int
	folded  [event.NumNsTypes]int // namespaces created past the lane limit, by base type
}

func (t *tally) add(ev *event.Event) {
	if ev.Kind == event.Lost {
		t.lost += ev.Lost
		t.losses++
		return
	}
	if int(ev.Kind) < len(t.kinds) {
		t.kinds[ev.Kind]++
	}
	if ev.Failed() {
		t.failed++
		if t.errors == nil {
			t.errors = make(map[string]int)
		}
		t.errors[event.ErrnoName(ev.Errno)]++
		m := filter.CallTypes(ev)
		if ev.Target != nil {
			m = 1 << ev.Target.Type
		}
		if m == 1<<event.NumNsTypes-1 {
			return // setns(fd, 0) with no target known: it could have been any type
		}
		for _, ty := range typeOrder {
			if m&(1<<ty|1<<forChildren(ty)) != 0 {
				t.types[ty].Failed++
			}
		}
		return
	}
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if int(c.Type) >= event.NumNsTypes || int(c.Action) >= len(t.actions) {
			continue
		}
		t.actions[c.Action]++
		tc := &t.types[inventory.BaseType(c.Type)]
		switch c.Action {
		case event.Create:
			tc.Create++
		case event.Join:
			tc.Join++
		case event.ActionDestroy:
			tc.Destroy++
		}
	}
}

// forChildren is the for_children view of a type, or the type itself.
func forChildren(t event.NsType) event.NsType {
	switch t {
	case event.Pid:
		return event.PidForChildren
	case event.Time:
		return event.TimeForChildren
	}
	return t
}

// summarize turns the tally into the report's summary.
func (t *tally) summarize(r *Report) Summary {
	s := Summary{Failed: t.failed, Lost: t.lost, LossMarks: t.losses}
	for k, n := range t.kinds {
		if n > 0 && event.Kind(k) != event.Lost {
			s.Events += n
			s.ByEvent = append(s.ByEvent, Counts{Name: event.Kind(k).String(), N: n})
		}
	}
	for a, n := range t.actions {
		if n > 0 {
			s.ByAction = append(s.ByAction, Counts{Name: event.Action(a).String(), N: n})
		}
	}
	if t.failed > 0 {
		s.ByAction = append(s.ByAction, Counts{Name: "failed", N: t.failed})
	}
	for name, n := range t.errors {
		s.ByError = append(s.ByError, Counts{Name: name, N: n})
	}
	sortCounts(s.ByError)
	types := t.types
	for ty, n := range t.folded {
		s.Namespaces += n
		s.Created += n
		s.Folded += n
		types[ty].Namespaces += n
	}
	for i := range r.Lanes {
		l := &r.Lanes[i]
		if l.Kind == NamespaceLane {
			s.Namespaces++
			types[l.Type].Namespaces++
			if !l.Created.IsZero() {
				s.Created++
			}
		}
	}
	for _, ty := range typeOrder {
		if tc := types[ty]; tc != (TypeCounts{}) {
			tc.Type = ty.String()
			s.ByType = append(s.ByType, tc)
		}
	}
	return s
}

// groups orders the lanes for display: the special lanes first, then one
// group per type, the host's namespace first and the others as they came.
func groups(lanes []Lane) []Group {
	var gs []Group
	attention := Group{Name: "attention"}
	for _, k := range []LaneKind{AlertLane, FailedLane, LostLane} {
		for i := range lanes {
			if lanes[i].Kind == k {
				attention.Lanes = append(attention.Lanes, i)
			}
		}
	}
	if len(attention.Lanes) > 0 {
		gs = append(gs, attention)
	}
	for _, ty := range typeOrder {
		g := Group{Name: ty.String()}
		for i := range lanes {
			if lanes[i].Kind == NamespaceLane && lanes[i].Type == ty {
				g.Lanes = append(g.Lanes, i)
			}
		}
		slices.SortStableFunc(g.Lanes, func(a, b int) int {
			return -cmp.Compare(btoi(lanes[a].Host), btoi(lanes[b].Host))
		})
		for i := range lanes {
			if lanes[i].Kind == FoldedLane && lanes[i].Type == ty {
				g.Lanes = append(g.Lanes, i) // last: past the lanes of their own
			}
		}
		if len(g.Lanes) > 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// alertsByRule counts alerts by rule, the most frequent first.
func alertsByRule(alerts []Alert) []Counts {
	idx := map[string]int{}
	var cs []Counts
	for _, a := range alerts {
		i, ok := idx[a.Rule]
		if !ok {
			i = len(cs)
			idx[a.Rule] = i
			cs = append(cs, Counts{Name: a.Rule, Severity: a.Severity})
		}
		cs[i].N++
	}
	sortCounts(cs)
	return cs
}

func sortCounts(cs []Counts) {
	slices.SortStableFunc(cs, func(a, b Counts) int {
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}
