/* SPDX-License-Identifier: GPL-2.0-only */
/* What happens at the entry and exit of each namespace-changing call. Both
 * hook sets (syscall tracepoints, fentry/fexit) call these, so they report
 * identical events. */
#ifndef NSTRACE_CALLS_H
#define NSTRACE_CALLS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "event.h"
#include "state.h"
#include "ns.h"
#include "record.h"

/* Record, at entry, the inodes of the types this call may change. */
static __always_inline void snapshot(struct task_struct *t, struct pending *p)
{
	struct task_nsp n = nsp_of(t);

#pragma unroll
	for (int k = 0; k < NS_TYPES; k++)
		if (p->mask & (1 << k))
			p->from[k] = task_inum(&n, k);
}

/* ---- unshare and setns: namespaces before vs after ---- */

static __always_inline int enter_ns_call(__u8 kind, __u64 flags, __u32 mask, __s32 fd)
{
	struct task_struct *task;
	struct pending local = {}, *p = &local;
	struct call_slot *s;
	bool stale;
	__u32 tid;

	if (!(mask & cfg.type_mask))
		return 0;
	task = current_readable();
	if (!wanted_tgid(task->tgid))
		return 0;
	tid = task->pid;
	/* Filled in place: the slot is this thread's until its exit. */
	s = claim_slot(tid, &stale);
	if (s) {
		p = &s->p;
		/* Left by this thread's clone whose exit never ran. */
		if (stale && p->kind == EVENT_CLONE)
			count_pending(EVENT_CLONE, -1);
	}
	p->kind = kind;
	p->flags = flags;
	p->mask = mask;
	p->fd = fd;
	p->caps = task_caps(task);
	snapshot(task, p);
	if (!s)
		remember(tid, p);
	return 0;
}

static __always_inline int enter_unshare(__u64 flags)
{
	__u32 mask = types_of_flags(flags);

	if (flags & CLONE_NEWTIME_)
		mask |= 1 << NS_TIME_FOR_CHILDREN;
	return enter_ns_call(EVENT_UNSHARE, flags, mask, -1);
}

static __always_inline int enter_setns(__s32 fd, __u64 nstype)
{
	__u32 mask = ALL_TYPES; /* nstype 0 accepts any nsfs fd: type unknown yet */

	if (nstype) {
		mask = types_of_flags(nstype);
		if (nstype & CLONE_NEWTIME_)
			mask |= (1 << NS_TIME) | (1 << NS_TIME_FOR_CHILDREN);
	}
	return enter_ns_call(EVENT_SETNS, nstype, mask, fd);
}

/* The nsfs file behind a setns fd, for reporting what a failed call aimed at.
 * Read at exit, before the call returns: the fd is still open. */
static __always_inline void setns_target(struct event *e, __s32 fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	struct file *f = 0;
	struct inode *ino;
	int type;

	if (fd < 0 || (unsigned int)fd >= max)
		return;
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	if (!f)
		return;
	ino = BPF_CORE_READ(f, f_inode);
	if (BPF_CORE_READ(ino, i_sb, s_magic) != 0x6e736673 /* NSFS_MAGIC */)
		return;
	type = type_of_clone_flag(ns_clone_flag(BPF_CORE_READ(ino, i_private)));
	if (type < 0)
		return;
	e->target_type = type;
	e->target_ino = BPF_CORE_READ(ino, i_ino);
}

/* -ERESTARTSYS .. -ERESTART_RESTARTBLOCK: a signal interrupted the call and
 * the kernel will run it again (the entry hook fires again); userspace never
 * sees these, so neither a failure nor a result is reported. */
static __always_inline bool restarting(long ret)
{
	return ret <= -512 && ret >= -516;
}

static __always_inline int exit_ns_call(long ret)
{
	struct task_struct *task = current_readable();
	__u32 tid = task->pid;
	struct call_slot *s = held_slot(tid);
	struct pending *p;
	struct task_nsp n;
	struct event *e;
	__u8 action;

	p = s ? &s->p : recall(tid);
	if (!p)
		return 0;
	if (restarting(ret))
		goto out;
	e = new_event(p->kind, task, false);
	if (!e)
		goto out;
	e->flags = p->flags;
	e->caps = p->caps; /* before the call: unshare(CLONE_NEWUSER) grants all */
	n = nsp_of(task);
	read_where(e, &n);
	if (ret < 0) {
		e->error = -ret;
		if (p->kind == EVENT_SETNS)
			setns_target(e, p->fd);
		send(e);
		goto out;
	}
	action = p->kind == EVENT_UNSHARE ? ACTION_CREATE : ACTION_JOIN;
#pragma unroll
	for (int k = 0; k < NS_TYPES; k++) {
		__u32 to;

		if (!(p->mask & cfg.type_mask & (1 << k)))
			continue;
		to = task_inum(&n, k);
		if (to != p->from[k])
			add_change(e, k, action, p->from[k], to, task_ns_id(&n, k));
	}
	if (e->nr_changes)
		send(e);
out:
	if (s)
		s->tid = 0;
	else
		forget(tid, p);
	return 0;
}

/* ---- clone: flags for the fork hook, and failures ---- */

/* A clone's entry goes in its thread's call slot, as unshare's and
 * setns's do, where task storage is used (the default); else, or when
 * another thread holds the slot, in pending_ts or pending. A slot holds a
 * clone while its kind is EVENT_CLONE: released, its kind is cleared, and
 * clones_pending counts it like an entry of the map. */
static __always_inline int enter_clone(__u64 flags)
{
	struct pending p = {};
	struct call_slot *s;
	bool stale;
	__u32 tid;

	if (!(flags & CLONE_NS_FLAGS) || !wanted_tgid(current_tgid()))
		return 0;
	p.kind = EVENT_CLONE;
	p.flags = flags;
	tid = current_tid();
	if (cfg.use_task_storage && (s = claim_slot(tid, &stale))) {
		/* Left by this thread's clone whose exit never ran: replaced. */
		if (!stale || s->p.kind != EVENT_CLONE)
			count_pending(EVENT_CLONE, 1);
		s->p = p;
		return 0;
	}
	remember(tid, &p);
	return 0;
}

/* The clone entry tid holds in its call slot, or 0. */
static __always_inline struct call_slot *clone_slot(__u32 tid)
{
	struct call_slot *s = held_slot(tid);

	if (s && s->p.kind == EVENT_CLONE)
		return s;
	return 0;
}

static __always_inline int exit_clone(long ret)
{
	struct call_slot *s;
	struct pending *p;
	struct event *e;
	__u32 tid;

	if (!clones_pending)
		return 0;
	tid = current_tid();
	s = clone_slot(tid);
	p = s ? &s->p : recall(tid);
	if (!p || p->kind != EVENT_CLONE)
		return 0;
	/* Success is reported by the fork hook, attributed to the child. */
	if (ret < 0 && !restarting(ret) && (e = new_event(EVENT_CLONE, 0, true))) {
		e->flags = p->flags;
		e->error = -ret;
		send(e);
	}
	if (s) {
		count_pending(EVENT_CLONE, -1);
		s->p.kind = 0;
		s->tid = 0;
	} else {
		forget(tid, p);
	}
	return 0;
}

/* ---- exec: a task whose time_for_children differs enters it ---- */

static __always_inline int enter_exec(void)
{
	struct task_struct *t = current_readable();
	struct nsproxy *nsp = t->nsproxy;
	struct pending p = {};
	__u32 tgid;

	if (nsp->time_ns == nsp->time_ns_for_children)
		return 0;
	tgid = current_tgid();
	if (!wanted_tgid(tgid) || !(cfg.type_mask & (1 << NS_TIME)))
		return 0;
	p.kind = EVENT_EXEC;
	p.mask = 1 << NS_TIME;
	p.from[NS_TIME] = nsp->time_ns->ns.inum;
	remember(tgid, &p);
	return 0;
}

static __always_inline int exit_exec(long ret)
{
	__u32 tgid;
	struct pending *p;
	struct task_nsp n;
	struct event *e;
	__u32 to;

	if (!execs_pending)
		return 0;
	tgid = current_tgid();
	p = recall(tgid);
	if (!p || p->kind != EVENT_EXEC)
		return 0;
	n = nsp_of(current_readable());
	to = task_inum(&n, NS_TIME);
	if (ret == 0 && to != p->from[NS_TIME] && (e = new_event(EVENT_EXEC, 0, true))) {
		add_change(e, NS_TIME, ACTION_JOIN, p->from[NS_TIME], to, task_ns_id(&n, NS_TIME));
		send(e);
	}
	forget(tgid, p);
	return 0;
}

#endif
