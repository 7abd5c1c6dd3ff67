/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record nstrace's BPF programs send to Go through the ring buffer.
 * bpf2go turns these types into Go (gen.NstraceEvent, ...); a Go test checks
 * the layouts agree. Explicit padding, no packing: both sides see one layout. */
#ifndef NSTRACE_EVENT_H
#define NSTRACE_EVENT_H

#include "vmlinux.h"
#include "proc.h"

/* Indexes of /proc/PID/ns entries, in that directory's order (Go: event.NsType). */
enum ns_type {
	NS_CGROUP = 0,
	NS_IPC,
	NS_MNT,
	NS_NET,
	NS_PID,
	NS_PID_FOR_CHILDREN,
	NS_TIME,
	NS_TIME_FOR_CHILDREN,
	NS_USER,
	NS_UTS,
	NS_TYPES, /* also "unknown": a destroyed inode whose type Go looks up */
};

/* Go: event.Kind. */
enum event_kind {
	EVENT_CLONE = 1,
	EVENT_UNSHARE = 2,
	EVENT_SETNS = 3,
	EVENT_EXEC = 4,
	EVENT_DESTROY = 5, /* a namespace inode number was freed */
};

/* Go: event.Action. */
enum change_action {
	ACTION_CREATE = 1,
	ACTION_JOIN = 2,
	ACTION_DESTROY = 3,
};

/* Loss causes: indexes of the per-CPU `drops` array. */
enum drop_cause {
	DROP_RING_FULL = 0,    /* ring buffer reserve failed */
	DROP_PENDING_FULL = 1, /* no room to remember a syscall between enter and exit */
	DROP_FLOOD_FULL = 2,   /* an event past its source's share found no room to be counted */
	DROP_CAUSES,
};

struct change {
	__u64 to_id; /* ns_common.ns_id of the namespace entered, 0 if the kernel has none */
	__u32 from;  /* inode before */
	__u32 to;    /* inode after */
	__u8 type;   /* enum ns_type */
	__u8 action; /* enum change_action */
	__u8 pad[6];
};

struct event {
	__u64 boot_ns;   /* bpf_ktime_get_boot_ns() */
	__u64 flags;     /* clone/unshare flags, setns nstype */
	__u64 cgroup_id; /* caller's cgroup v2 id */
	__u32 pid;       /* for clone: the child */
	__u32 tid;
	__u32 ppid; /* for clone: the caller's tgid */
	__u32 uid;
	__s32 error;      /* errno (positive) of a failed call */
	__u32 target_ino; /* failed setns: inode the fd referred to */
	__u8 kind;        /* enum event_kind */
	__u8 nr_changes;
	__u8 target_type; /* enum ns_type of target_ino */
	__u8 has_proc;    /* enum proc_form: proc is sent after all the changes */
	char comm[16];
	__u32 user_ns;   /* inode of the caller's user namespace: owner of what it creates */
	__u32 auid;      /* the caller's login uid; (u32)-1 when unset */
	__u32 proc_tgid; /* has_proc PROC_REF: the process named, as proc.tgid */
	__u64 caps;      /* the caller's effective capabilities before the call */
	__u64 proc_exec_id; /* has_proc PROC_REF: its image, as proc.exec_id */
	/* Where the event's task (for clone: the child) is after the call: its
	 * mount, own pid, uts and ipc namespaces, which tell a container's
	 * process from the host's. Detection reads them here instead of from
	 * /proc, where a task may be gone; 0 where not read (see read_where). */
	__u32 where_mnt;
	__u32 where_pid;
	__u32 where_uts;
	__u32 where_ipc;
	/* Where cgroup_id is the v2 root's (1: a host that runs containers
	 * under cgroup v1), the id of the caller's v1 memory cgroup: the inode
	 * of its directory under /sys/fs/cgroup/memory. 0 otherwise (and
	 * where the memory controller is on the v2 hierarchy). */
	__u64 mem_cgroup_id;
	struct change changes[NS_TYPES];
	struct proc proc; /* the caller: proc.h */
};

/* A source past its share: events counted instead of sent, per key.
 * cgroup is the source's cgroup key (see source_cgroup in record.h). */
struct flood_key {
	__u64 cgroup;
	__u32 uid;
	__s32 error; /* errno (positive) of the failed calls counted, or 0 */
	__u8 kind;   /* enum event_kind */
	__u8 pad[7];
	char comm[16];
};

/* Only the header and the used changes are sent. */
#define EVENT_HEADER_SIZE ((unsigned long)&((struct event *)0)->changes)
/* With its process: every change slot, then the proc, trimmed at its
 * args (most are much shorter than ARGS_LEN). */
#define EVENT_PROC_SIZE(args_len) \
	((unsigned long)&((struct event *)0)->proc.args + (args_len))

#endif
