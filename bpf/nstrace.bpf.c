// SPDX-License-Identifier: GPL-2.0-only
/* nstrace's BPF programs. Two hook sets report identical events:
 *
 *  - tracepoint: syscall tracepoints for unshare, setns, clone, clone3 and
 *    execve(at). Portable, but attaching any syscall tracepoint puts every
 *    syscall of every task on the kernel's slow path.
 *  - fentry: fentry/fexit on ksys_unshare, __x64_sys_setns, kernel_clone and
 *    begin_new_exec, which tax only the namespace calls. Go loads each
 *    where the kernel allows and falls back to the tracepoint pair per hook.
 *
 * Both share tp_btf/sched_process_fork for new tasks, and the fentry set adds
 * namespace destruction (fentry/proc_free_inum) where it loads.
 *
 * The cheap paths matter most: an ordinary fork is three pointer compares,
 * an ordinary exec one, an unrelated clone one flag test. Only calls that can
 * change a namespace read inodes, and only of the kinds they can change. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "event.h"
#include "ns.h"
#include "record.h"
#include "calls.h"

char LICENSE[] SEC("license") = "GPL";

/* Referenced so their BTF reaches bpf2go, which mirrors them in Go. */
const enum ns_kind *unused_ns_kind __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const enum change_action *unused_change_action __attribute__((unused));
const enum drop_cause *unused_drop_cause __attribute__((unused));
const struct flood_key *unused_flood_key __attribute__((unused));

/* ---- every new task: which namespaces differ from its creator's ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_nsp pn, cn;
	struct pending *p;
	struct event *e;
	__u64 flags = 0;
	__u32 ptid;

	/* The fast path: same nsproxy, same user namespace, and a pid at the same
	 * depth (a child's pid namespace is its creator's or a descendant). */
	if (child->nsproxy == parent->nsproxy &&
	    child->real_cred->user_ns == parent->real_cred->user_ns &&
	    child->thread_pid->level == parent->thread_pid->level)
		return 0;
	if (!wanted_tgid(parent->tgid))
		return 0;

	ptid = current_tid();
	if (clones_pending && (p = recall(ptid)) && p->kind == EVENT_CLONE)
		flags = p->flags;
	e = new_event(EVENT_CLONE, false);
	if (!e)
		return 0;
	e->pid = child->tgid;
	e->tid = child->pid;
	e->ppid = parent->tgid;
	e->flags = flags;
	pn = nsp_of(parent);
	cn = nsp_of(child);
	/* Only the kinds whose namespace differs are read: a pointer compare
	 * each, and for the pid namespace a compare of depths (a child's pid
	 * namespace is its parent's pid_for_children, the parent's own or a
	 * descendant: same depth, same namespace). */
#pragma unroll
	for (int k = 0; k < NS_KINDS; k++) {
		__u32 from, to;
		__u8 action;

		if (!(kind_mask & (1 << k)))
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
		action = (flags & flag_of_kind(k)) ? ACTION_CREATE : ACTION_JOIN;
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

SEC("fentry/__x64_sys_setns")
int BPF_PROG(setns_fentry, const struct pt_regs *regs)
{
	return enter_setns((__s32)BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si));
}

SEC("fexit/__x64_sys_setns")
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
 * as namespaces, and looks up their kind. */
SEC("fentry/proc_free_inum")
int BPF_PROG(destroy_fentry, unsigned int inum)
{
	struct event *e;

	/* The task dropping the last reference: with --pid, only that process. */
	if (!wanted_tgid(current_tgid()))
		return 0;
	e = new_event(EVENT_DESTROY, false);
	if (!e)
		return 0;
	e->changes[0].kind = NS_KINDS;
	e->changes[0].action = ACTION_DESTROY;
	e->changes[0].from = 0;
	e->changes[0].to = inum;
	e->changes[0].to_id = 0;
	e->nr_changes = 1;
	send(e);
	return 0;
}
