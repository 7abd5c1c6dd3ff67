// SPDX-License-Identifier: GPL-2.0-only
/* nstrace's portable hook set: syscall tracepoints for unshare, setns, clone,
 * clone3 and execve(at), and tp_btf/sched_process_fork for new tasks.
 *
 * The cheap paths matter most: an ordinary fork is three pointer compares,
 * an ordinary exec one, an unrelated clone one flag test. Only calls that can
 * change a namespace read inodes, and only of the types they can change. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "event.h"

char LICENSE[] SEC("license") = "GPL";

/* Referenced so their BTF reaches bpf2go, which mirrors them in Go. */
const enum ns_kind *unused_ns_kind __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const enum change_action *unused_change_action __attribute__((unused));
const enum drop_cause *unused_drop_cause __attribute__((unused));

#define CLONE_NS_FLAGS                                                                \
	(CLONE_NEWCGROUP_ | CLONE_NEWIPC_ | CLONE_NEWNS_ | CLONE_NEWNET_ | CLONE_NEWPID_ | \
	 CLONE_NEWTIME_ | CLONE_NEWUSER_ | CLONE_NEWUTS_)
#define CLONE_NEWTIME_ 0x00000080ULL
#define CLONE_NEWNS_ 0x00020000ULL
#define CLONE_NEWCGROUP_ 0x02000000ULL
#define CLONE_NEWUTS_ 0x04000000ULL
#define CLONE_NEWIPC_ 0x08000000ULL
#define CLONE_NEWUSER_ 0x10000000ULL
#define CLONE_NEWPID_ 0x20000000ULL
#define CLONE_NEWNET_ 0x40000000ULL

#define ALL_KINDS ((1U << NS_KINDS) - 1)

/* Settings fixed before load. */
volatile const __u32 filter_tgid = 0;          /* 0: every process */
volatile const __u32 kind_mask = ALL_KINDS;    /* namespace types to report */
volatile const __u64 wakeup_bytes = 256 << 10; /* wake the reader once this much is queued */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* set from Go (--ring-size) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_CAUSES);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* What a namespace-changing syscall looked like at entry, until its exit. */
struct pending {
	__u64 flags;
	__u32 from[NS_KINDS];
	__s32 fd;
	__u16 mask; /* kinds this call can change */
	__u8 kind;  /* enum event_kind */
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid; tgid for exec, whose tid can change */
	__type(value, struct pending);
} pending SEC(".maps");

/* How many clone/exec entries wait in `pending`: lets the exits of ordinary
 * forks and execs skip the map lookup. A racy read only costs a lookup. */
__u64 clones_pending = 0;
__u64 execs_pending = 0;

/* A scratch record per CPU: too big for the stack, sent trimmed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

/* 6.1 and older keep the type in ops; newer kernels in ns_common. */
struct proc_ns_operations___old {
	int type;
} __attribute__((preserve_access_index));

static __always_inline void count_drop(__u32 cause)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &cause);
	if (n)
		*n += 1;
}

static __always_inline struct ns_common *active_pid_ns(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &p->numbers[level]);
	return &up.ns->ns;
}

static __always_inline struct ns_common *task_ns(struct task_struct *t, int kind)
{
	struct nsproxy *nsp = BPF_CORE_READ(t, nsproxy);

	switch (kind) {
	case NS_CGROUP:
		return &BPF_CORE_READ(nsp, cgroup_ns)->ns;
	case NS_IPC:
		return &BPF_CORE_READ(nsp, ipc_ns)->ns;
	case NS_MNT:
		return &BPF_CORE_READ(nsp, mnt_ns)->ns;
	case NS_NET:
		return &BPF_CORE_READ(nsp, net_ns)->ns;
	case NS_PID:
		return active_pid_ns(t);
	case NS_PID_FOR_CHILDREN:
		return &BPF_CORE_READ(nsp, pid_ns_for_children)->ns;
	case NS_TIME:
		return &BPF_CORE_READ(nsp, time_ns)->ns;
	case NS_TIME_FOR_CHILDREN:
		return &BPF_CORE_READ(nsp, time_ns_for_children)->ns;
	case NS_USER:
		return &BPF_CORE_READ(t, real_cred, user_ns)->ns;
	case NS_UTS:
		return &BPF_CORE_READ(nsp, uts_ns)->ns;
	}
	return 0;
}

static __always_inline __u32 ns_inum(struct ns_common *ns)
{
	return BPF_CORE_READ(ns, inum);
}

static __always_inline __u64 ns_id(struct ns_common *ns)
{
	if (bpf_core_field_exists(ns->ns_id))
		return BPF_CORE_READ(ns, ns_id);
	return 0;
}

/* Which kinds a CLONE_NEW* mask (unshare flags, setns nstype) can change. */
static __always_inline __u32 kinds_of_flags(__u64 flags)
{
	__u32 m = 0;

	if (flags & CLONE_NEWCGROUP_)
		m |= 1 << NS_CGROUP;
	if (flags & CLONE_NEWIPC_)
		m |= 1 << NS_IPC;
	if (flags & CLONE_NEWNS_)
		m |= 1 << NS_MNT;
	if (flags & CLONE_NEWNET_)
		m |= 1 << NS_NET;
	if (flags & CLONE_NEWPID_)
		m |= 1 << NS_PID_FOR_CHILDREN;
	if (flags & CLONE_NEWUSER_)
		m |= 1 << NS_USER;
	if (flags & CLONE_NEWUTS_)
		m |= 1 << NS_UTS;
	return m;
}

/* The CLONE_NEW* flag that creates a namespace of this kind. */
static __always_inline __u64 kinds_to_flag(int kind)
{
	switch (kind) {
	case NS_CGROUP: return CLONE_NEWCGROUP_;
	case NS_IPC: return CLONE_NEWIPC_;
	case NS_MNT: return CLONE_NEWNS_;
	case NS_NET: return CLONE_NEWNET_;
	case NS_PID:
	case NS_PID_FOR_CHILDREN: return CLONE_NEWPID_;
	case NS_TIME:
	case NS_TIME_FOR_CHILDREN: return CLONE_NEWTIME_;
	case NS_USER: return CLONE_NEWUSER_;
	case NS_UTS: return CLONE_NEWUTS_;
	}
	return 0;
}

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool wanted_tgid(__u32 tgid)
{
	return filter_tgid == 0 || filter_tgid == tgid;
}

/* Batch wakeups: wake the reader only when the queue crosses wakeup_bytes;
 * Go polls with a short deadline for anything below that. */
static __always_inline __u64 wakeup_flag(__u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	if (avail < wakeup_bytes && avail + size >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline struct event *new_event(__u8 kind)
{
	__u32 zero = 0;
	struct event *e = bpf_map_lookup_elem(&scratch, &zero);
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (!e)
		return 0;
	e->boot_ns = bpf_ktime_get_boot_ns();
	e->flags = 0;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->error = 0;
	e->target_ino = 0;
	e->kind = kind;
	e->nr_changes = 0;
	e->target_kind = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void add_change(struct event *e, int kind, __u8 action, __u32 from,
				       struct ns_common *to)
{
	__u8 i = e->nr_changes;

	if (i >= NS_KINDS)
		return;
	e->changes[i].kind = kind;
	e->changes[i].action = action;
	e->changes[i].from = from;
	e->changes[i].to = ns_inum(to);
	e->changes[i].to_id = ns_id(to);
	e->nr_changes = i + 1;
}

static __always_inline void send(struct event *e)
{
	__u64 size = EVENT_HEADER_SIZE + (__u64)e->nr_changes * sizeof(struct change);

	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, size, wakeup_flag(size)))
		count_drop(DROP_RING_FULL);
}

static __always_inline void remember(__u32 key, struct pending *p)
{
	if (bpf_map_update_elem(&pending, &key, p, BPF_ANY))
		count_drop(DROP_PENDING_FULL);
}

/* Record, at entry, the inodes of the kinds this call may change. */
static __always_inline void snapshot(struct task_struct *t, struct pending *p)
{
#pragma unroll
	for (int k = 0; k < NS_KINDS; k++)
		if (p->mask & (1 << k))
			p->from[k] = ns_inum(task_ns(t, k));
}

/* ---- unshare and setns: namespaces before vs after ---- */

static __always_inline int enter_ns_call(__u8 kind, __u64 flags, __u32 mask, __s32 fd)
{
	struct pending p = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!wanted_tgid(current_tgid()))
		return 0;
	p.kind = kind;
	p.flags = flags;
	p.mask = mask;
	p.fd = fd;
	snapshot((struct task_struct *)bpf_get_current_task(), &p);
	remember(tid, &p);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unshare")
int unshare_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = ctx->args[0];
	__u32 mask = kinds_of_flags(flags);

	if (flags & CLONE_NEWTIME_)
		mask |= 1 << NS_TIME_FOR_CHILDREN;
	if (!(mask & kind_mask))
		return 0;
	return enter_ns_call(EVENT_UNSHARE, flags, mask, -1);
}

SEC("tracepoint/syscalls/sys_enter_setns")
int setns_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 nstype = ctx->args[1];
	__u32 mask = ALL_KINDS;

	/* nstype 0 accepts any nsfs fd: we cannot know the kind yet. */
	if (nstype) {
		mask = kinds_of_flags(nstype);
		if (nstype & CLONE_NEWTIME_)
			mask |= (1 << NS_TIME) | (1 << NS_TIME_FOR_CHILDREN);
	}
	if (!(mask & kind_mask))
		return 0;
	return enter_ns_call(EVENT_SETNS, nstype, mask, (__s32)ctx->args[0]);
}

/* The nsfs file behind a setns fd, for reporting what a failed call aimed at. */
static __always_inline void setns_target(struct event *e, __s32 fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	struct file *f = 0;
	struct inode *ino;
	struct ns_common *ns;
	__u32 type = 0;

	if (fd < 0 || (unsigned int)fd >= max)
		return;
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	if (!f)
		return;
	ino = BPF_CORE_READ(f, f_inode);
	if (BPF_CORE_READ(ino, i_sb, s_magic) != 0x6e736673 /* NSFS_MAGIC */)
		return;
	ns = BPF_CORE_READ(ino, i_private);
	if (bpf_core_field_exists(ns->ns_type)) {
		type = BPF_CORE_READ(ns, ns_type);
	} else {
		struct proc_ns_operations___old *ops = (void *)BPF_CORE_READ(ns, ops);
		type = BPF_CORE_READ(ops, type);
	}
	switch (type) {
	case CLONE_NEWCGROUP_: e->target_kind = NS_CGROUP; break;
	case CLONE_NEWIPC_: e->target_kind = NS_IPC; break;
	case CLONE_NEWNS_: e->target_kind = NS_MNT; break;
	case CLONE_NEWNET_: e->target_kind = NS_NET; break;
	case CLONE_NEWPID_: e->target_kind = NS_PID; break;
	case CLONE_NEWTIME_: e->target_kind = NS_TIME; break;
	case CLONE_NEWUSER_: e->target_kind = NS_USER; break;
	case CLONE_NEWUTS_: e->target_kind = NS_UTS; break;
	default: return;
	}
	e->target_ino = BPF_CORE_READ(ino, i_ino);
}

static __always_inline int exit_ns_call(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &tid);
	struct task_struct *t;
	struct event *e;
	__u8 action;

	if (!p)
		return 0;
	e = new_event(p->kind);
	if (!e)
		goto out;
	e->flags = p->flags;
	if (ret < 0) {
		e->error = -ret;
		if (p->kind == EVENT_SETNS)
			setns_target(e, p->fd);
		send(e);
		goto out;
	}
	t = (struct task_struct *)bpf_get_current_task();
	action = p->kind == EVENT_UNSHARE ? ACTION_CREATE : ACTION_JOIN;
#pragma unroll
	for (int k = 0; k < NS_KINDS; k++) {
		struct ns_common *ns;
		__u32 to;

		if (!(p->mask & kind_mask & (1 << k)))
			continue;
		ns = task_ns(t, k);
		to = ns_inum(ns);
		if (to != p->from[k])
			add_change(e, k, action, p->from[k], ns);
	}
	if (e->nr_changes)
		send(e);
out:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_unshare")
int unshare_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_ns_call(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_setns")
int setns_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_ns_call(ctx->ret);
}

/* ---- clone and clone3: flags for the fork hook, failures ---- */

static __always_inline int enter_clone(__u64 flags)
{
	struct pending p = {};
	__u32 tid;

	if (!(flags & CLONE_NS_FLAGS))
		return 0;
	if (!wanted_tgid(current_tgid()))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	p.kind = EVENT_CLONE;
	p.flags = flags;
	remember(tid, &p);
	__sync_fetch_and_add(&clones_pending, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_clone")
int clone_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_clone(ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_clone3")
int clone3_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct clone_args *uargs = (struct clone_args *)ctx->args[0];
	__u64 flags = 0;

	bpf_probe_read_user(&flags, sizeof(flags), &uargs->flags);
	return enter_clone(flags);
}

static __always_inline int exit_clone(long ret)
{
	__u32 tid;
	struct pending *p;
	struct event *e;

	if (!clones_pending)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p || p->kind != EVENT_CLONE)
		return 0;
	/* Success is reported by the fork hook, attributed to the child. */
	if (ret < 0 && (e = new_event(EVENT_CLONE))) {
		e->flags = p->flags;
		e->error = -ret;
		send(e);
	}
	bpf_map_delete_elem(&pending, &tid);
	__sync_fetch_and_add(&clones_pending, -1);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clone")
int clone_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_clone(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_clone3")
int clone3_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_clone(ctx->ret);
}

/* ---- every new task: which namespaces differ from its creator's ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p;
	struct event *e;
	__u64 flags = 0;

	/* The fast path: same nsproxy, same user namespace, and a pid at the same
	 * depth (a child's pid namespace is its creator's or a descendant). */
	if (child->nsproxy == parent->nsproxy &&
	    child->real_cred->user_ns == parent->real_cred->user_ns &&
	    child->thread_pid->level == parent->thread_pid->level)
		return 0;
	if (!wanted_tgid(parent->tgid))
		return 0;

	if (clones_pending && (p = bpf_map_lookup_elem(&pending, &ptid)) && p->kind == EVENT_CLONE)
		flags = p->flags;
	e = new_event(EVENT_CLONE);
	if (!e)
		return 0;
	e->pid = child->tgid;
	e->tid = child->pid;
	e->ppid = parent->tgid;
	e->flags = flags;
#pragma unroll
	for (int k = 0; k < NS_KINDS; k++) {
		struct ns_common *ns;
		__u32 from, to;
		__u8 action;

		if (!(kind_mask & (1 << k)))
			continue;
		from = ns_inum(task_ns(parent, k));
		ns = task_ns(child, k);
		to = ns_inum(ns);
		if (from == to)
			continue;
		/* Without its CLONE_NEW* flag a child entered a namespace that
		 * existed: its parent's pid_for_children or time_for_children. */
		action = (flags & kinds_to_flag(k)) ? ACTION_CREATE : ACTION_JOIN;
		add_change(e, k, action, from, ns);
	}
	if (e->nr_changes)
		send(e);
	return 0;
}

/* ---- exec: a task whose time_for_children differs enters it ---- */

static __always_inline int enter_exec(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct nsproxy *nsp = t->nsproxy;
	struct pending p = {};
	__u32 tgid;

	if (nsp->time_ns == nsp->time_ns_for_children)
		return 0;
	tgid = current_tgid();
	if (!wanted_tgid(tgid) || !(kind_mask & (1 << NS_TIME)))
		return 0;
	p.kind = EVENT_EXEC;
	p.mask = 1 << NS_TIME;
	p.from[NS_TIME] = nsp->time_ns->ns.inum;
	remember(tgid, &p);
	__sync_fetch_and_add(&execs_pending, 1);
	return 0;
}

static __always_inline int exit_exec(long ret)
{
	__u32 tgid;
	struct pending *p;
	struct ns_common *ns;
	struct event *e;

	if (!execs_pending)
		return 0;
	tgid = current_tgid();
	p = bpf_map_lookup_elem(&pending, &tgid);
	if (!p || p->kind != EVENT_EXEC)
		return 0;
	ns = task_ns((struct task_struct *)bpf_get_current_task(), NS_TIME);
	if (ret == 0 && ns_inum(ns) != p->from[NS_TIME] && (e = new_event(EVENT_EXEC))) {
		add_change(e, NS_TIME, ACTION_JOIN, p->from[NS_TIME], ns);
		send(e);
	}
	bpf_map_delete_elem(&pending, &tgid);
	__sync_fetch_and_add(&execs_pending, -1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec();
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_exec();
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx->ret);
}
