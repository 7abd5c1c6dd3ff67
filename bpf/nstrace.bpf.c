// SPDX-License-Identifier: GPL-2.0-only
/* nstrace's BPF programs. Two hook sets report identical events:
 *
 *  - tracepoint: syscall tracepoints for unshare, setns, clone, clone3 and
 *    execve(at). Portable, but attaching any syscall tracepoint puts every
 *    syscall of every task on the kernel's slow path.
 *  - fentry: fentry/fexit on ksys_unshare, the setns syscall wrapper
 *    (__x64_sys_setns, __arm64_sys_setns), kernel_clone and begin_new_exec, which tax only the namespace calls. Go loads each
 *    where the kernel allows and falls back to the tracepoint pair per hook.
 *
 * Both share tp_btf/sched_process_fork for new tasks, and the fentry set adds
 * namespace destruction (fentry/proc_free_inum) where it loads.
 *
 * The cheap paths matter most: an ordinary fork is three pointer compares,
 * an ordinary exec one, an unrelated clone one flag test. Only calls that can
 * change a namespace read inodes, and only of the types they can change. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "event.h"
#include "state.h"
#include "ns.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- settings, maps and globals: every piece of state, in one place ---- */

volatile const struct config cfg = {
	.wakeup_bytes = 256 << 10,
	.wakeup_gap_ns = 50000000,
	.flood_step_ns = 1000000,            /* 1000 events/s */
	.flood_burst_ns = 5000ULL * 1000000, /* 5000 events at once */
	.ring_limit = (8 << 20) / 4 * 3,
	.failure_window_ns = 60000000000ULL,
	.type_mask = ALL_TYPES,
	.use_task_storage = 1,
};

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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid; tgid for exec, whose tid can change */
	__type(value, struct pending);
} pending SEC(".maps");

/* The same, kept with the task itself where the kernel allows: cheaper than
 * a hash (no hashing, no allocation per call: the slot stays with the task
 * and is marked free), and gone when the task is. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} pending_ts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CALL_SLOTS);
	__type(key, __u32);
	__type(value, struct call_slot);
} call_slots SEC(".maps");

/* How many clone/exec entries wait in `pending` or `pending_ts`: lets the
 * exits of ordinary forks and execs skip the map lookup. Exact (see
 * count_pending); a racy read only costs a lookup. */
__u64 clones_pending = 0;
__u64 execs_pending = 0;

/* When the last record was sent (boot-time ns), and the bytes sent since
 * the last wakeup. Racy updates only cost or save a wakeup. */
__u64 last_record_ns = 0;
__u64 sent_since_wakeup = 0;

/* A scratch record per CPU: too big for the stack, sent trimmed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* uid */
	__type(value, __u64);
} uid_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* source_cgroup() */
	__type(value, __u64);
} cgroup_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flood_memo);
} flood_memo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NS_OWNER_SLOTS);
	__type(key, __u32);
	__type(value, struct ns_owner);
} ns_owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FAILURE_SLOTS);
	__type(key, __u32);
	__type(value, struct last_failure);
} failures SEC(".maps");

/* Counts of events not sent, in two sides: the programs count into
 * flood_side's, Go empties the other, then flips flood_side. A program that
 * read the old side finishes long before Go reads it a period later. Two
 * maps picked by flood_side, not an array of maps: filling one of those
 * waits for an RCU grace period per slot, at every start. */
struct flood_counts {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* mostly empty */
	__uint(max_entries, 4096);
	__type(key, struct flood_key);
	__type(value, __u64);
} flood0 SEC(".maps"), flood1 SEC(".maps");

__u32 flood_side = 0;

/* Process identity (identity.h): when and by which path each process last
 * exec'd, and when its identity last went whole, in its group leader's
 * task storage (or, with no exec seen, in proc_sent_slots); per-CPU
 * scratch for paths; resolved executables. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct exec_info);
} exec_ts SEC(".maps");

/* How many times note_exec wrote exec_ts: an exec_memo taken before the
 * last one is stale. */
__u64 exec_gen = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_memo);
} exec_memo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROC_SENT_SLOTS);
	__type(key, __u32);
	__type(value, struct proc_sent);
} proc_sent_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ANC_MEMO_SLOTS);
	__type(key, __u32);
	__type(value, struct anc_memo);
} anc_memo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EXE_CACHE_SLOTS);
	__type(key, struct exe_key);
	__type(value, struct exe_val);
} exe_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exe_val);
} exe_scratch SEC(".maps");

/* ---- the code every program shares, which uses the state above ---- */

#include "record.h"
#include "flood.h"
#include "identity.h"
#include "calls.h"

/* Referenced so their BTF reaches bpf2go, which mirrors them in Go. */
const enum ns_type *unused_ns_type __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const enum change_action *unused_change_action __attribute__((unused));
const enum drop_cause *unused_drop_cause __attribute__((unused));
const struct flood_key *unused_flood_key __attribute__((unused));
const enum proc_flag *unused_proc_flag __attribute__((unused));
const enum proc_form *unused_proc_form __attribute__((unused));

/* ---- every exec: when, and by which path (identity.h) ---- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return note_exec(BPF_CORE_READ(bprm, filename));
}

/* The same where tp_btf cannot attach: the tracepoint's copy of the path. */
SEC("tracepoint/sched/sched_process_exec")
int proc_exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
	return note_exec((const char *)ctx + (ctx->__data_loc_filename & 0xFFFF));
}

/* ---- every new task: which namespaces differ from its creator's ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_nsp pn, cn;
	struct call_slot *s;
	struct pending *p;
	struct event *e;
	__u64 flags = 0;
	__u32 ptid;

	parent = readable(parent);
	child = readable(child);
	/* The fast path: same nsproxy, same user namespace, and a pid at the same
	 * depth (a child's pid namespace is its creator's or a descendant). */
	if (child->nsproxy == parent->nsproxy &&
	    child->real_cred->user_ns == parent->real_cred->user_ns &&
	    child->thread_pid->level == parent->thread_pid->level)
		return 0;
	if (!wanted_tgid(parent->tgid))
		return 0;

	ptid = current_tid();
	if (clones_pending) {
		s = clone_slot(ptid);
		p = s ? &s->p : recall(ptid);
		if (p && p->kind == EVENT_CLONE)
			flags = p->flags;
	}
	/* The parent is the current task: its fields by plain loads. */
	e = new_event(EVENT_CLONE, parent, true);
	if (!e)
		return 0;
	e->pid = child->tgid;
	e->tid = child->pid;
	e->ppid = parent->tgid;
	e->flags = flags;
	pn = nsp_of(parent);
	cn = nsp_of(child);
	read_where(e, &cn);
	/* Only the types whose namespace differs are read: a pointer compare
	 * each, and for the pid namespace a compare of depths (a child's pid
	 * namespace is its parent's pid_for_children, the parent's own or a
	 * descendant: same depth, same namespace). */
#pragma unroll
	for (int k = 0; k < NS_TYPES; k++) {
		__u32 from, to;
		__u8 action;

		if (!(cfg.type_mask & (1 << k)))
			continue;
		if (k == NS_PID) {
			if (child->thread_pid->level == parent->thread_pid->level)
				continue;
			from = task_inum(&pn, k);
			to = task_inum(&cn, k);
		} else {
			struct ns_common *a = task_ns(&pn, k), *b = task_ns(&cn, k);

			if (a == b)
				continue;
			from = a->inum;
			to = b->inum;
		}
		if (to == from)
			continue;
		/* Without its CLONE_NEW* flag a child entered a namespace that
		 * existed: its parent's pid_for_children or time_for_children. */
		action = (flags & flag_of_type(k)) ? ACTION_CREATE : ACTION_JOIN;
		add_change(e, k, action, from, to, task_ns_id(&cn, k));
	}
	if (e->nr_changes)
		send(e);
	return 0;
}

/* ---- the tracepoint set ---- */

SEC("tracepoint/syscalls/sys_enter_unshare")
int unshare_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_unshare(ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_unshare")
int unshare_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_ns_call(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_setns")
int setns_enter(struct trace_event_raw_sys_enter *ctx)
{
	return enter_setns((__s32)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_setns")
int setns_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_ns_call(ctx->ret);
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

/* ---- the fentry set ---- */

SEC("fentry/ksys_unshare")
int BPF_PROG(unshare_fentry, unsigned long flags)
{
	return enter_unshare(flags);
}

SEC("fexit/ksys_unshare")
int BPF_PROG(unshare_fexit, unsigned long flags, int ret)
{
	return exit_ns_call(ret);
}

/* setns has no ksys_ function: its syscall wrapper is hooked, whose name
 * depends on the architecture, and which gets the user's registers. bpf2go
 * defines __TARGET_ARCH_* per target; libbpf's macros read the registers. */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_WRAPPER(name) "__x64_sys_" #name
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_WRAPPER(name) "__arm64_sys_" #name
#else
#error "nstrace's BPF is built for x86 and arm64 only"
#endif

SEC("fentry/" SYSCALL_WRAPPER(setns))
int BPF_PROG(setns_fentry, const struct pt_regs *regs)
{
	return enter_setns((__s32)PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs));
}

SEC("fexit/" SYSCALL_WRAPPER(setns))
int BPF_PROG(setns_fexit, const struct pt_regs *regs, long ret)
{
	return exit_ns_call(ret);
}

SEC("fentry/kernel_clone")
int BPF_PROG(clone_fentry, struct kernel_clone_args *args)
{
	return enter_clone(args->flags);
}

SEC("fexit/kernel_clone")
int BPF_PROG(clone_fexit, struct kernel_clone_args *args, pid_t ret)
{
	return exit_clone(ret);
}

/* begin_new_exec switches the namespaces (exec_task_namespaces, which 6.1
 * inlines out of BTF); it is exported, so every kernel has it in BTF. */
SEC("fentry/begin_new_exec")
int BPF_PROG(exec_fentry, struct linux_binprm *bprm)
{
	return enter_exec();
}

SEC("fexit/begin_new_exec")
int BPF_PROG(exec_fexit, struct linux_binprm *bprm, int ret)
{
	return exit_exec(ret);
}

/* ---- namespace destruction (fentry only) ---- */

/* Every namespace's inode number is freed here when the namespace dies
 * (ns_free_inum). Other proc inodes pass too: Go keeps only inodes it knows
 * as namespaces, and looks up their type. */
SEC("fentry/proc_free_inum")
int BPF_PROG(destroy_fentry, unsigned int inum)
{
	struct event *e;

	/* The task dropping the last reference: with --pid, only that process. */
	if (!wanted_tgid(current_tgid()))
		return 0;
	e = new_event(EVENT_DESTROY, 0, true);
	if (!e)
		return 0;
	e->changes[0].type = NS_TYPES;
	e->changes[0].action = ACTION_DESTROY;
	e->changes[0].from = 0;
	e->changes[0].to = inum;
	e->changes[0].to_id = 0;
	e->nr_changes = 1;
	send(e);
	return 0;
}
