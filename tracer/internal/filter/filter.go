// Package filter selects events: by process, command, namespace type, event
// kind, outcome, container, namespace and time. One Filter serves live
// tracing and replay alike, so both show the same events for the same flags.
//
// Live, the tracer applies the pid and type filters in the kernel as well;
// Filter repeats them exactly, so a recording made without filters and
// replayed with them matches a live run that had them.
package filter

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/nstrace/nstrace/tracer/event"
	"github.com/nstrace/nstrace/tracer/internal/cloneflags"
)

// Options say what to keep. Within one option any value matches; across
// options all must match. The zero value keeps everything.
type Options struct {
	Pids       []uint32       // the calling process; for a new task, its creator
	Comms      []string       // glob patterns (path.Match syntax) on comm
	Types      []event.NsType // namespace types; changes of other types are dropped
	Events     []event.Kind   // clone, unshare, setns, exec
	Failed     bool           // only failed attempts
	Containers []string       // container ID prefix or name
	Namespaces []uint64       // inode or ns_id of a namespace the event touches
	// The runtime's identity (identity.go): the process's container or
	// that of a namespace it touched is in a matching pod, Kubernetes
	// namespace and image. Globs; a pod is NAMESPACE/NAME or NAME.
	Pods          []string
	K8sNamespaces []string
	Images        []string
	Since         time.Time // zero: from the start
	Until         time.Time // zero: to the end
}

// Filter is compiled Options. A nil *Filter keeps everything.
type Filter struct {
	opts      Options
	typeMask  uint32 // 0: every type
	kindMask  uint32 // 0: every kind
	commMatch map[string]bool
}

// maxCommCache bounds the memo of glob results; comms are few and interned.
const maxCommCache = 4096

// New checks and compiles opts. It returns nil when opts keep everything.
func New(opts Options) (*Filter, error) {
	for _, p := range opts.Comms {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("comm pattern %q: %w", p, err)
		}
	}
	if err := checkIdentity(&opts); err != nil {
		return nil, err
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && opts.Until.Before(opts.Since) {
		return nil, fmt.Errorf("until (%s) is before since (%s)", opts.Until.Format(time.RFC3339Nano), opts.Since.Format(time.RFC3339Nano))
	}
	f := &Filter{opts: opts}
	for _, t := range opts.Types {
		f.typeMask |= 1 << t
	}
	for _, k := range opts.Events {
		f.kindMask |= 1 << k
	}
	if f.keepsAll() {
		return nil, nil
	}
	if len(opts.Comms) > 0 {
		f.commMatch = make(map[string]bool)
	}
	return f, nil
}

func (f *Filter) keepsAll() bool {
	o := &f.opts
	return len(o.Pids) == 0 && len(o.Comms) == 0 && f.typeMask == 0 && f.kindMask == 0 &&
		!o.Failed && len(o.Containers) == 0 && len(o.Namespaces) == 0 && o.Since.IsZero() && o.Until.IsZero() &&
		len(o.Pods) == 0 && len(o.K8sNamespaces) == 0 && len(o.Images) == 0
}

// Options returns what f was built from.
func (f *Filter) Options() Options {
	if f == nil {
		return Options{}
	}
	return f.opts
}

// Keep reports whether ev passes. With a type filter it also drops, in
// place, the changes of other types, as the kernel does live. Loss markers
// pass every filter but time: whatever was lost may have matched.
// Keep allocates nothing once each comm has been seen.
func (f *Filter) Keep(ev *event.Event) bool {
	if f == nil {
		return true
	}
	if !f.opts.Since.IsZero() && ev.Time.Before(f.opts.Since) {
		return false
	}
	if !f.opts.Until.IsZero() && ev.Time.After(f.opts.Until) {
		return false
	}
	if ev.Kind == event.Lost {
		return true
	}
	if f.kindMask != 0 && f.kindMask&(1<<ev.Kind) == 0 {
		return false
	}
	if f.opts.Failed && !ev.Failed() {
		return false
	}
	if len(f.opts.Pids) > 0 && !containsPid(f.opts.Pids, Caller(ev)) {
		return false
	}
	if len(f.opts.Comms) > 0 && !f.comm(ev.Comm) {
		return false
	}
	if f.typeMask != 0 && !f.keepTypes(ev) {
		return false
	}
	if len(f.opts.Namespaces) > 0 && !f.touches(ev) {
		return false
	}
	if len(f.opts.Containers) > 0 && !f.inContainer(ev) {
		return false
	}
	if (len(f.opts.Pods) > 0 || len(f.opts.K8sNamespaces) > 0 || len(f.opts.Images) > 0) && !f.inIdentity(ev) {
		return false
	}
	return true
}

// Caller is the process a pid filter matches: the one that made the call;
// for a new task, its creator (the event's ppid). The kernel filters on the
// same process.
func Caller(ev *event.Event) uint32 {
	if ev.Kind == event.Clone && !ev.Failed() {
		return ev.Ppid
	}
	return ev.Pid
}

func containsPid(pids []uint32, pid uint32) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}

func (f *Filter) comm(comm string) bool {
	if ok, seen := f.commMatch[comm]; seen {
		return ok
	}
	ok := false
	for _, p := range f.opts.Comms {
		if m, _ := path.Match(p, comm); m {
			ok = true
			break
		}
	}
	if len(f.commMatch) >= maxCommCache {
		clear(f.commMatch)
	}
	f.commMatch[comm] = ok
	return ok
}

// keepTypes mirrors the kernel's type filter: a successful call keeps only
// its changes of the wanted types and is dropped when none is left; a failed
// one is kept when its flags could have changed a wanted type.
func (f *Filter) keepTypes(ev *event.Event) bool {
	if ev.Failed() {
		return CallTypes(ev)&f.typeMask != 0
	}
	kept := ev.Changes[:0]
	for _, c := range ev.Changes {
		if f.typeMask&(1<<c.Type) != 0 {
			kept = append(kept, c)
		}
	}
	ev.Changes = kept
	return len(kept) > 0
}

// CallTypes is the set (bit 1<<NsType) of namespace types a call could
// change, from its flags, as the kernel computes it to filter by type.
func CallTypes(ev *event.Event) uint32 {
	var m uint32
	for t := range event.NumNsTypes {
		ty := event.NsType(t)
		if ev.Flags&ty.CloneFlag() != 0 {
			m |= 1 << ty
		}
	}
	switch ev.Kind {
	case event.Unshare:
		// unshare(CLONE_NEWPID or CLONE_NEWTIME) changes only the namespace
		// the children will get.
		m &^= 1<<event.Pid | 1<<event.Time
	case event.Setns:
		m &^= 1 << event.Pid // setns into a pid namespace sets pid_for_children
		if ev.Flags&cloneflags.Namespaces == 0 {
			m = 1<<event.NumNsTypes - 1 // nstype 0: any namespace
		}
	}
	return m
}

func (f *Filter) touches(ev *event.Event) bool {
	for _, want := range f.opts.Namespaces {
		if ev.Target != nil && uint64(ev.Target.Inode) == want {
			return true
		}
		for i := range ev.Changes {
			c := &ev.Changes[i]
			if uint64(c.To) == want || uint64(c.From) == want || (c.NsID != 0 && c.NsID == want) {
				return true
			}
		}
	}
	return false
}

func (f *Filter) inContainer(ev *event.Event) bool {
	if f.containerMatches(ev.Container) {
		return true
	}
	for i := range ev.Changes {
		if f.containerMatches(ev.Changes[i].Container) {
			return true
		}
	}
	return false
}

func (f *Filter) containerMatches(c *event.Container) bool {
	if c == nil {
		return false
	}
	for _, want := range f.opts.Containers {
		if (c.ID != "" && strings.HasPrefix(c.ID, want)) || (c.Name != "" && c.Name == want) {
			return true
		}
	}
	return false
}

// String renders f as the command-line flags that make it, e.g.
// `--pid 42 --type net,uts`; empty when f keeps everything.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	o := &f.opts
	var parts []string
	add := func(flag string, vals []string) {
		if len(vals) == 0 {
			return
		}
		v := strings.Join(vals, ",")
		if q := strconv.Quote(v); q[1:len(q)-1] != v || strings.ContainsAny(v, " '*?[") {
			v = q
		}
		parts = append(parts, "--"+flag+" "+v)
	}
	add("pid", mapStrings(o.Pids, func(p uint32) string { return strconv.FormatUint(uint64(p), 10) }))
	add("comm", o.Comms)
	add("type", mapStrings(o.Types, event.NsType.String))
	add("event", mapStrings(o.Events, event.Kind.String))
	if o.Failed {
		parts = append(parts, "--failed")
	}
	add("container", o.Containers)
	add("ns", mapStrings(o.Namespaces, func(n uint64) string { return strconv.FormatUint(n, 10) }))
	add("pod", o.Pods)
	add("k8s-namespace", o.K8sNamespaces)
	add("image", o.Images)
	if !o.Since.IsZero() {
		parts = append(parts, "--since "+o.Since.UTC().Format(time.RFC3339Nano))
	}
	if !o.Until.IsZero() {
		parts = append(parts, "--until "+o.Until.UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, " ")
}

func mapStrings[T any](vals []T, fn func(T) string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = fn(v)
	}
	return out
}
