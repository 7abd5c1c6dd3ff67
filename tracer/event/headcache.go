package event

import "syscall"

// headCache holds the heads, as JSON, of the lines an encoder wrote last:
// everything between an event's kind and its changes (who made the call,
// what it asked for, its credentials and process). Under churn one thread
// makes event after event with the same head, which with a root process's
// capabilities and ancestors is most of the line; only the time, kind and
// changes differ.
//
// A slot is found by comparing the values the head is made of, not by
// trusting any pointer, except the Process: those are shared by the events
// of one process image and never changed (processcache.go), and holding
// the pointer keeps its memory from being reused for another Process.
type headCache = jsonSlots[headKey]

// headKey is every value appendHeadJSON writes.
type headKey struct {
	pid, tid, ppid, uid, userns, auid uint32
	cgroup, flags, caps               uint64
	errno                             syscall.Errno
	target                            Target
	container                         Container // its Pod nil: pods are not remembered
	comm                              string
	proc                              *Process
	withFlags, hasTarget, hasCtr      bool
	creds                             bool
}

// headKeyOf returns e's head key; e's container must be remembered
// (changecache.go).
func headKeyOf(e *Event) headKey {
	k := headKey{pid: e.Pid, tid: e.Tid, ppid: e.Ppid, uid: e.UID, userns: e.UserNS, auid: e.Auid,
		cgroup: e.CgroupID, flags: e.Flags, caps: e.Caps, errno: e.Errno, comm: e.Comm, proc: e.Process,
		withFlags: withFlags(e.Kind), creds: e.HasCreds}
	if e.Target != nil {
		k.target, k.hasTarget = *e.Target, true
	}
	if e.Container != nil {
		k.container, k.hasCtr = *e.Container, true
	}
	return k
}

// withFlags tells whether events of kind k carry the flags.
func withFlags(k Kind) bool { return k != Destroy && k != Exec }

// matches reports whether k is e's head key, comparing in place: making
// e's key to compare would copy more than is compared.
func (k *headKey) matches(e *Event) bool {
	if k.pid != e.Pid || k.tid != e.Tid || k.ppid != e.Ppid || k.uid != e.UID || k.userns != e.UserNS ||
		k.auid != e.Auid || k.cgroup != e.CgroupID || k.flags != e.Flags || k.caps != e.Caps ||
		k.errno != e.Errno || k.proc != e.Process || k.withFlags != withFlags(e.Kind) ||
		k.creds != e.HasCreds || k.comm != e.Comm {
		return false
	}
	if e.Target == nil && k.hasTarget || e.Target != nil && (!k.hasTarget || k.target != *e.Target) {
		return false
	}
	if e.Container == nil {
		return !k.hasCtr
	}
	return k.hasCtr && k.container == *e.Container
}

// appendHead appends e's head, formatting it only when it is not
// remembered.
func (c *Numbers) appendHead(b []byte, e *Event) []byte {
	if c == nil || !remembered(e.Container) {
		return e.appendHeadJSON(b, c)
	}
	return appendRemembered(&c.heads, b, e, headKeyOf, func(b []byte, e *Event) []byte { return e.appendHeadJSON(b, c) })
}
