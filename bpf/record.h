/* SPDX-License-Identifier: GPL-2.0-only */
/* Record building, sending, and the state kept between a call's entry and
 * exit, which every hook shares. Code, not declarations: nstrace.bpf.c
 * includes it after its maps (events, drops, scratch, pending, pending_ts,
 * call_slots), globals and cfg. */
#ifndef NSTRACE_RECORD_H
#define NSTRACE_RECORD_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "event.h"
#include "state.h"
#include "ns.h"

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* readable turns a task pointer the verifier trusts (the current task, a
 * tp_btf argument) into one it does not, for plain loads only: from 6.3 on
 * it checks every pointer loaded through a trusted one against lists of
 * fields that pass the trust on, looking each list up by name across the
 * kernel's whole BTF, at every such load in every verified state: the bulk
 * of loading the programs. Loads through a pointer it does not trust are
 * checked against nothing. Where the kernel lacks bpf_rdonly_cast (before
 * 6.2, hence without those checks), t itself. Helpers that take a task
 * (task storage) still need the trusted one. */
static __always_inline struct task_struct *readable(struct task_struct *t)
{
	if (cfg.rdonly_cast)
		return bpf_rdonly_cast(t, bpf_core_type_id_kernel(struct task_struct));
	return t;
}

static __always_inline struct task_struct *current_readable(void)
{
	return readable(bpf_get_current_task_btf());
}

static __always_inline void count_drop(__u32 cause)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &cause);
	if (n)
		*n += 1;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline bool wanted_tgid(__u32 tgid)
{
	return cfg.filter_tgid == 0 || cfg.filter_tgid == tgid;
}

/* Batch wakeups, with bounded latency: a record wakes the reader once
 * cfg.wakeup_bytes were sent since the last wakeup, or when it is the first
 * for cfg.wakeup_gap_ns (a lone event, or the first of a burst, is seen at
 * once). Records in a stream wait for the next wakeup or for Go's poll,
 * which comes every cfg.wakeup_gap_ns however many records came: no record
 * waits longer than without the wakeup. A wakeup costs the program that
 * asks for it microseconds (an irq_work, a self-interrupt: on a virtual
 * machine an exit to the hypervisor), so a steady stream slower than the
 * byte threshold asks for none. Counting bytes sent instead of asking the
 * ring what is queued (bpf_ringbuf_query) keeps the programs off the cache
 * line the reader writes. Signed: a record stamped on another CPU may be
 * a little older than the last. */
static __always_inline __u64 wakeup_flag(__u64 size, __u64 now)
{
	__u64 sent = sent_since_wakeup + size;
	bool quiet = (__s64)(now - last_record_ns) >= (__s64)cfg.wakeup_gap_ns;

	last_record_ns = now;
	if (sent >= cfg.wakeup_bytes || quiet) {
		sent_since_wakeup = 0;
		return BPF_RB_FORCE_WAKEUP;
	}
	sent_since_wakeup = sent;
	return BPF_RB_NO_WAKEUP;
}

/* A task's effective capabilities, with a plain load through its BTF
 * pointer: kernel_cap_t is 64 bits (u32[2] before 6.3, u64 since). */
static __always_inline __u64 task_caps(struct task_struct *t)
{
	return *(__u64 *)&t->cred->cap_effective;
}

/* The caller's login uid and effective capabilities, for new_event. hot
 * (see new_event): a plain load; caps: read them, which the calls that
 * churn do not: they take them from their entry (before the call changed
 * them). */
static __always_inline void read_creds(struct event *e, struct task_struct *t, bool hot, bool caps)
{
	e->auid = (__u32)-1;
	if (bpf_core_field_exists(t->loginuid))
		e->auid = hot ? t->loginuid.val : BPF_CORE_READ(t, loginuid.val);
	e->caps = 0;
	if (caps && hot)
		e->caps = task_caps(t);
	else if (caps)
		bpf_core_read(&e->caps, sizeof(e->caps), &t->cred->cap_effective);
}

/* The id of t's cgroup v1 memory cgroup: the inode of its directory under
 * /sys/fs/cgroup/memory, a kernfs id as v2 ids are. 0 where the kernel has
 * no memory controller, or has it on the v2 hierarchy. Asked for tasks at
 * the v2 root only (cgroup id 1), which on a host that runs containers
 * under cgroup v1 is every task: there the v2 id says nothing. */
static __always_inline __u64 memory_cgroup(struct task_struct *t)
{
	struct cgroup_subsys_state *css;
	struct css_set *set = t->cgroups;
	int memory;

	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return 0;
	memory = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (memory < 0 || memory >= 12)
		return 0;
	css = set->subsys[memory];
	if (!css || css->cgroup == set->dfl_cgrp)
		return 0;
	return css->cgroup->kn->id;
}

/* The cgroup a source is charged to (flood.h): its v1 memory cgroup where
 * the record has one, else its v2 cgroup. Both are kernfs ids: one key
 * space. */
static __always_inline __u64 source_cgroup(struct event *e)
{
	return e->mem_cgroup_id ? e->mem_cgroup_id : e->cgroup_id;
}

/* new_event starts a record about the current task. hot: the current task,
 * for the programs that run often (setns, unshare, the fork hook), whose
 * fields are then read with plain loads through its BTF pointer; they run
 * several times faster than the helpers (bpf_get_current_pid_tgid, _comm,
 * _uid_gid, _cgroup_id) but cost the verifier a walk of task_struct's BTF
 * per load at startup. Other callers pass 0, use the helpers and keep the
 * start fast. caps: read the current capabilities (the exits of unshare
 * and setns take them from the entry instead). */
static __always_inline struct event *new_event(__u8 kind, struct task_struct *hot, bool caps)
{
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&scratch, &zero);
	struct task_struct *task = hot;
	__u64 id;

	if (!e)
		return 0;
	if (!task)
		task = current_readable();
	e->boot_ns = bpf_ktime_get_boot_ns();
	e->flags = 0;
	e->ppid = task->real_parent->tgid;
	if (hot) {
		e->pid = hot->tgid;
		e->tid = hot->pid;
		e->cgroup_id = hot->cgroups->dfl_cgrp->kn->id;
		e->uid = hot->cred->uid.val;
		__builtin_memcpy(&e->comm, hot->comm, sizeof(e->comm));
	} else {
		id = bpf_get_current_pid_tgid();
		e->pid = id >> 32;
		e->tid = (__u32)id;
		e->cgroup_id = bpf_get_current_cgroup_id();
		e->uid = (__u32)bpf_get_current_uid_gid();
		bpf_get_current_comm(&e->comm, sizeof(e->comm));
	}
	e->error = 0;
	e->target_ino = 0;
	e->kind = kind;
	e->nr_changes = 0;
	e->target_type = 0;
	e->user_ns = task->real_cred->user_ns->ns.inum;
	e->has_proc = 0;
	e->where_mnt = 0;
	e->where_pid = 0;
	e->where_uts = 0;
	e->where_ipc = 0;
	e->mem_cgroup_id = 0;
	if (e->cgroup_id == 1)
		e->mem_cgroup_id = memory_cgroup(task);
	read_creds(e, task, hot, caps);
	return e;
}

/* read_where fills e's where_* from the task n describes, which task_inum
 * reads: no read of the pid numbers[] (a probe read) for the tasks of the
 * initial pid namespace, the only one at level 0. */
static __always_inline void read_where(struct event *e, struct task_nsp *n)
{
	e->where_mnt = task_inum(n, NS_MNT);
	e->where_uts = task_inum(n, NS_UTS);
	e->where_ipc = task_inum(n, NS_IPC);
	e->where_pid = n->task->thread_pid->level ? task_inum(n, NS_PID) : PROC_PID_INIT_INO_;
}

static __always_inline void add_change(struct event *e, int type, __u8 action, __u32 from, __u32 to,
                                       __u64 to_id)
{
	__u8 i = e->nr_changes;

	if (i >= NS_TYPES)
		return;
	e->changes[i].type = type;
	e->changes[i].action = action;
	e->changes[i].from = from;
	e->changes[i].to = to;
	e->changes[i].to_id = to_id;
	e->nr_changes = i + 1;
}

__noinline int admit(struct event *e);       /* flood.h */
__noinline int attach_proc(struct event *e); /* identity.h */
__noinline int proc_sent(struct event *e);   /* identity.h */

/* send queues the header and the used changes only, if the source has not
 * used up its share (flood.h). */
static __always_inline void send(struct event *e)
{
	__u64 size = EVENT_HEADER_SIZE + (__u64)e->nr_changes * sizeof(struct change);

	if (!admit(e))
		return;
	/* Only what is sent pays for its process's identity. */
	if (e->kind != EVENT_DESTROY) {
		__u32 with_proc = attach_proc(e); /* zero-extended: 6.1 needs size >= 0 */

		if (with_proc)
			size = with_proc;
	}
	/* A 64-bit bound on the very register passed, in asm: clang may
	 * otherwise clamp a copy or a 32-bit half, and 6.1's verifier then
	 * sees an unbounded size. */
	asm volatile("if %[size] <= %[max] goto +1; %[size] = %[max]"
		     : [size] "+r"(size)
		     : [max] "i"(sizeof(*e)));
	/* The record's own timestamp serves as "now": no second clock read. */
	if (bpf_ringbuf_output(&events, e, size, wakeup_flag(size, e->boot_ns)))
		count_drop(DROP_RING_FULL);
	else if (e->has_proc == PROC_WHOLE)
		proc_sent(e);
}

/* How many clone and exec entries a map holds changes with the entries
 * themselves, in remember and forget only: an entry that was never stored
 * is never counted, and one overwritten is uncounted. */
static __always_inline void count_pending(__u8 kind, __s64 delta)
{
	if (kind == EVENT_CLONE)
		__sync_fetch_and_add(&clones_pending, delta);
	else if (kind == EVENT_EXEC)
		__sync_fetch_and_add(&execs_pending, delta);
}

/* remember keeps p for the current task (key: its tid, or tgid for exec,
 * in the hash), recall finds it, forget frees it. A full map is a loss,
 * counted. */
static __always_inline void remember(__u32 key, struct pending *p)
{
	struct pending *slot;

	if (cfg.use_task_storage)
		slot = bpf_task_storage_get(&pending_ts, bpf_get_current_task_btf(), 0,
		                            BPF_LOCAL_STORAGE_GET_F_CREATE);
	else
		slot = bpf_map_lookup_elem(&pending, &key);
	if (slot) {
		/* A free task slot has kind 0; a live entry (one whose exit
		 * never ran, or a tgid key reused by exec) is replaced. */
		count_pending(slot->kind, -1);
		*slot = *p;
		count_pending(p->kind, 1);
		return;
	}
	if (cfg.use_task_storage || bpf_map_update_elem(&pending, &key, p, BPF_NOEXIST)) {
		count_drop(DROP_PENDING_FULL);
		return;
	}
	count_pending(p->kind, 1);
}

static __always_inline struct pending *recall(__u32 key)
{
	struct pending *p;

	if (cfg.use_task_storage)
		p = bpf_task_storage_get(&pending_ts, bpf_get_current_task_btf(), 0, 0);
	else
		p = bpf_map_lookup_elem(&pending, &key);
	if (p && !p->kind)
		return 0;
	return p;
}

static __always_inline struct call_slot *call_slot_of(__u32 tid)
{
	__u32 i = tid & (CALL_SLOTS - 1);

	return bpf_map_lookup_elem(&call_slots, &i);
}

/* claim_slot takes tid's slot for a call: free, or left by tid's own call
 * whose exit never ran (*stale: its entry is still there, kind and all; a
 * free slot's kind may be a past call's). 0 when another thread holds it. */
static __always_inline struct call_slot *claim_slot(__u32 tid, bool *stale)
{
	struct call_slot *s = call_slot_of(tid);

	*stale = s && s->tid == tid;
	if (s && (*stale || __sync_val_compare_and_swap(&s->tid, 0, tid) == 0))
		return s;
	return 0;
}

/* held_slot is tid's slot if tid holds it. */
static __always_inline struct call_slot *held_slot(__u32 tid)
{
	struct call_slot *s = call_slot_of(tid);

	if (s && s->tid == tid)
		return s;
	return 0;
}

static __always_inline void forget(__u32 key, struct pending *p)
{
	count_pending(p->kind, -1);
	if (cfg.use_task_storage)
		p->kind = 0;
	else
		bpf_map_delete_elem(&pending, &key);
}

#endif
