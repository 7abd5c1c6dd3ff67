/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading a task's namespaces with CO-RE, on kernels old (6.1) and new (6.18+). */
#ifndef NSTRACE_NS_H
#define NSTRACE_NS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "event.h"

#define CLONE_NEWTIME_   0x00000080ULL
#define CLONE_NEWNS_     0x00020000ULL
#define CLONE_NEWCGROUP_ 0x02000000ULL
#define CLONE_NEWUTS_    0x04000000ULL
#define CLONE_NEWIPC_    0x08000000ULL
#define CLONE_NEWUSER_   0x10000000ULL
#define CLONE_NEWPID_    0x20000000ULL
#define CLONE_NEWNET_    0x40000000ULL
#define CLONE_NS_FLAGS                                                                     \
	(CLONE_NEWCGROUP_ | CLONE_NEWIPC_ | CLONE_NEWNS_ | CLONE_NEWNET_ | CLONE_NEWPID_ | \
	 CLONE_NEWTIME_ | CLONE_NEWUSER_ | CLONE_NEWUTS_)

#define ALL_TYPES ((1U << NS_TYPES) - 1)

/* The initial pid namespace's inode (enum proc_ns_ino: PROC_PID_INIT_INO). */
#define PROC_PID_INIT_INO_ 0xEFFFFFFCU

/* Fields that ns_common gained in 6.18, declared apart so that the code also
 * compiles against an older kernel's vmlinux.h (arm64's is 6.1's). */
struct ns_common___new {
	u32 ns_type;
	u64 ns_id;
} __attribute__((preserve_access_index));

/* 6.1 and older keep the type in ops; newer kernels in ns_common.ns_type. */
struct proc_ns_operations___old {
	int type;
} __attribute__((preserve_access_index));

/* task_active_pid_ns(): the pid namespace of the task's own pid, which
 * nsproxy does not hold (it holds pid_for_children). numbers[] is indexed by
 * a variable, which BTF loads do not allow, so this one takes probe reads;
 * only the fork slow path asks for it. */
static __always_inline struct pid_namespace *active_pid_ns(struct task_struct *t)
{
	struct pid *p = t->thread_pid;
	unsigned int level = p->level;
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &p->numbers[level]);
	return up.ns;
}

/* Where a task's namespaces hang. Namespaces are read with plain loads
 * through BTF-typed pointers (the task from bpf_get_current_task_btf() or a
 * tp_btf argument), which the JIT guards: several times cheaper to run than
 * a bpf_probe_read_kernel() per hop. These two are loaded once per task:
 * each load through the huge task_struct costs the verifier a walk of its
 * BTF, and unrolled loops would multiply them into a slow start. */
struct task_nsp {
	struct task_struct *task;
	struct nsproxy *nsp;
	struct user_namespace *user;
};

static __always_inline struct task_nsp nsp_of(struct task_struct *t)
{
	struct task_nsp n = { .task = t, .nsp = t->nsproxy, .user = t->real_cred->user_ns };
	return n;
}

/* A task's namespace of any type but NS_PID (see task_inum, task_ns_id). */
static __always_inline struct ns_common *task_ns(struct task_nsp *n, int type)
{
	struct nsproxy *nsp = n->nsp;

	switch (type) {
	case NS_CGROUP: return &nsp->cgroup_ns->ns;
	case NS_IPC: return &nsp->ipc_ns->ns;
	case NS_MNT: return &nsp->mnt_ns->ns;
	case NS_NET: return &nsp->net_ns->ns;
	case NS_PID_FOR_CHILDREN: return &nsp->pid_ns_for_children->ns;
	case NS_TIME: return &nsp->time_ns->ns;
	case NS_TIME_FOR_CHILDREN: return &nsp->time_ns_for_children->ns;
	case NS_USER: return &n->user->ns;
	case NS_UTS: return &nsp->uts_ns->ns;
	}
	return 0;
}

/* The inode number of a task's namespace of a type. */
static __always_inline __u32 task_inum(struct task_nsp *n, int type)
{
	struct pid_namespace *pidns;

	if (type == NS_PID) {
		/* Outside BPF_CORE_READ, whose relocations would take in n. */
		pidns = active_pid_ns(n->task);
		return BPF_CORE_READ(pidns, ns.inum);
	}
	return task_ns(n, type)->inum;
}

/* The never-reused 64-bit id of a task's namespace of a type, on kernels
 * >= 6.18; 0 before. */
static __always_inline __u64 task_ns_id(struct task_nsp *n, int type)
{
	struct pid_namespace *pidns;
	struct ns_common___new *ns;

	if (!bpf_core_field_exists(struct ns_common___new, ns_id))
		return 0;
	if (type == NS_PID) {
		pidns = active_pid_ns(n->task);
		ns = (void *)&pidns->ns;
		return BPF_CORE_READ(ns, ns_id);
	}
	return ((struct ns_common___new *)task_ns(n, type))->ns_id;
}

/* The CLONE_NEW* flag of a namespace's type. */
static __always_inline __u32 ns_clone_flag(struct ns_common *ns)
{
	struct ns_common___new *nsn = (void *)ns;

	if (bpf_core_field_exists(nsn->ns_type))
		return BPF_CORE_READ(nsn, ns_type);
	struct proc_ns_operations___old *ops = (void *)BPF_CORE_READ(ns, ops);
	return BPF_CORE_READ(ops, type);
}

/* Which types a CLONE_NEW* mask (unshare flags, setns nstype) can change.
 * CLONE_NEWPID changes only pid_for_children; CLONE_NEWTIME is left to the
 * caller: unshare changes time_for_children, setns both time types. */
static __always_inline __u32 types_of_flags(__u64 flags)
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

/* The CLONE_NEW* flag that creates a namespace of this type. */
static __always_inline __u64 flag_of_type(int type)
{
	switch (type) {
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

/* The type that setns of a CLONE_NEW* flag reports a failed target as. */
static __always_inline int type_of_clone_flag(__u32 type)
{
	switch (type) {
	case CLONE_NEWCGROUP_: return NS_CGROUP;
	case CLONE_NEWIPC_: return NS_IPC;
	case CLONE_NEWNS_: return NS_MNT;
	case CLONE_NEWNET_: return NS_NET;
	case CLONE_NEWPID_: return NS_PID;
	case CLONE_NEWTIME_: return NS_TIME;
	case CLONE_NEWUSER_: return NS_USER;
	case CLONE_NEWUTS_: return NS_UTS;
	}
	return -1;
}

#endif
