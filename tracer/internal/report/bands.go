package report

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/nstrace/nstrace/tracer/event"
)

// DefaultMaxEvents is how many events a report keeps one by one when its
// Options name no limit: past them, marks are counted in bands, which
// keeps the page and the Builder's memory bounded however long the
// recording.
const DefaultMaxEvents = 100_000

// DefaultMaxLanes is how many namespaces get a lane of their own when a
// Builder's Options name no limit: past them, each type's namespaces
// share a folded lane, which keeps the page and the Builder's memory
// bounded however many namespaces a recording holds.
const DefaultMaxLanes = 100_000

// DefaultMaxAlerts is how many alerts a report lists one by one when its
// Builder's Options name no limit: past them, a flood of alerts is
// counted by rule, which keeps the page bounded.
const DefaultMaxAlerts = 100_000

// maxBands is how many bands there may be before they widen (twice as
// long each time) and merge. When widening merges less than a tenth even
// with the slots down to minSlots, as with many lanes of a few marks each,
// the bound grows instead: bands are then few per lane, and lanes are kept
// anyway.
const maxBands = 100_000

// markClass is what a mark is, in the page's order (data.js's C_*).
type markClass uint8

const (
	markLost markClass = iota
	markJoin
	markDestroy
	markCreate
	markFailed
)

func actionClass(a event.Action) markClass {
	switch a {
	case event.Create:
		return markCreate
	case event.ActionDestroy:
		return markDestroy
	}
	return markJoin
}

// bands count the marks of the events a report does not keep one by one:
// per lane, class and stretch of time.
type bands struct {
	origin int64 // unix ns of the first event folded: slot 0 starts there
	last   int64 // unix ns of the latest mark folded
	width  int64 // ns per slot
	n      map[bandKey]int
	limit  int // widen past this many bands
	events int // events folded into bands
}

type bandKey struct {
	lane int32
	cls  markClass
	slot int64
}

func newBands() bands {
	return bands{width: int64(1e6), n: make(map[bandKey]int), limit: maxBands}
}

// minSlots is how many slots the time folded into bands keeps at least:
// bands widen no further than that for want of merging.
const minSlots = 1000

// add counts one mark at t (unix ns).
func (b *bands) add(lane int32, cls markClass, t int64) {
	b.n[bandKey{lane, cls, floorDiv(t-b.origin, b.width)}]++
	b.last = max(b.last, t)
	if len(b.n) > b.limit {
		// Marks spread thinly over many lanes merge only once bands are
		// long: widen until a tenth merges, or the slots are few.
		for {
			b.widen()
			if len(b.n) <= b.limit*9/10 || b.width*minSlots >= b.last-b.origin {
				break
			}
		}
		if len(b.n) > b.limit*9/10 {
			b.limit = 2 * len(b.n)
		}
	}
}

// widen doubles the slots' length, merging their counts.
func (b *bands) widen() {
	b.width *= 2
	merged := make(map[bandKey]int, len(b.n)/2)
	for k, n := range b.n {
		k.slot = floorDiv(k.slot, 2)
		merged[k] += n
	}
	b.n = merged
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// sortedKeys lists the bands in lane, time and class order, so the same
// session always makes the same page.
func (b *bands) sortedKeys() []bandKey {
	keys := make([]bandKey, 0, len(b.n))
	for k := range b.n {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y bandKey) int {
		return cmp.Or(cmp.Compare(x.lane, y.lane), cmp.Compare(x.slot, y.slot), cmp.Compare(x.cls, y.cls))
	})
	return keys
}

// dataBands lists the bands as [lane, dt, class, n] each.
func (r *Report) dataBands() dataBands {
	b := &r.bands
	d := dataBands{Width: b.width, Events: b.events, Marks: make([]int64, 0, 4*len(b.n))}
	start := r.Start.UnixNano()
	for _, k := range b.sortedKeys() {
		d.Marks = append(d.Marks, int64(k.lane), b.origin+k.slot*b.width-start, int64(k.cls), int64(b.n[k]))
	}
	return d
}

// writeBands writes the bands as the page reads them: {"width", "origin"
// (slot 0's start, ns since Start), "events", "marks"}, where marks holds
// [lane step, slot step, class, n] for each band in sortedKeys' order. The
// lane step is from the band before's lane (the first's from 0); the slot
// step is from the band before's slot when the lane is the same, else the
// slot itself. Most steps are 0 or a few digits.
func (r *Report) writeBands(w *dataWriter) {
	b := &r.bands
	w.raw(`{"width":`)
	w.int(b.width)
	w.raw(`,"origin":`)
	if b.events > 0 {
		w.int(b.origin - r.Start.UnixNano())
	} else {
		w.raw("0")
	}
	w.raw(`,"events":`)
	w.int(int64(b.events))
	w.raw(`,"marks":[`)
	var lane int32
	var slot int64
	for i, k := range b.sortedKeys() {
		if k.lane != lane {
			slot = 0
		}
		buf := w.b[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(k.lane-lane), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, k.slot-slot, 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(k.cls), 10)
		buf = append(buf, ',')
		w.b = strconv.AppendInt(buf, int64(b.n[k]), 10)
		w.flushB()
		lane, slot = k.lane, k.slot
	}
	w.raw("]}")
}
