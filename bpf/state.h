/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The settings Go fixes before load, and the types of the state the programs
 * keep in maps (the maps themselves are in nstrace.bpf.c). bpf2go mirrors
 * struct config in Go (gen.NstraceConfig). */
#ifndef NSTRACE_STATE_H
#define NSTRACE_STATE_H

#include "vmlinux.h"
#include "event.h"
#include "proc.h"

/* Settings, one constant set from Go through spec.Variables before load:
 * the verifier sees their values and drops the branches they rule out. */
struct config {
	__u64 wakeup_bytes;      /* wake the reader once this much was sent */
	__u64 wakeup_gap_ns;     /* or when none woke it for this long (Go polls as often) */
	__u64 flood_step_ns;     /* a source's bucket: ns per event; 0: no flood accounting */
	__u64 flood_burst_ns;    /* and how far ahead of now it may run */
	__u64 ring_limit;        /* non-critical events reserve only below this fill */
	__u64 failure_window_ns; /* a process's first failure per call in it is critical */
	__u32 filter_tgid;       /* 0: every process */
	__u32 type_mask;         /* namespace types to report */
	__u32 host_net_inum;     /* the host's net and mnt namespace inodes where they are */
	__u32 host_mnt_inum;     /* not the fixed initial ones (< 6.18); 0: unknown */
	__u8 use_task_storage;   /* Go clears it where the kernel lacks task storage */
	__u8 rdonly_cast;        /* Go sets it where the kernel has bpf_rdonly_cast (6.2+) */
	__u8 pad[6];
};

/* What a namespace-changing call looked like at entry, until its exit. */
struct pending {
	__u64 flags;
	__u64 caps; /* the caller's effective capabilities at entry */
	__u32 from[NS_TYPES];
	__s32 fd;
	__u16 mask; /* namespace types this call can change */
	__u8 kind;  /* enum event_kind */
	__u8 pad;
};

/* unshare and setns, the calls that churn, and clone with a CLONE_NEW* flag
 * where task storage is used, keep their entry state in a slot
 * picked by tid in a plain array: its lookup is inlined (no helper call, no
 * lock), a task that moves to another CPU between entry and exit still finds
 * it (the array is shared, not per-CPU), and a slot is claimed with one
 * compare-and-swap. A call whose slot another thread holds goes to
 * `pending_ts` (or `pending`) instead. */
#define CALL_SLOTS 4096
struct call_slot {
	__u32 tid; /* the owner; 0: free */
	__u32 pad;
	struct pending p;
};

/* Which cgroup created (or last joined) a namespace, learnt from events past
 * their share: a join into a namespace its cgroup is not known to own stays
 * critical. A direct-mapped cache by inode: one slot write per create, no
 * lock, no allocation; a collision or a torn write only makes a join
 * critical. */
#define NS_OWNER_SLOTS 16384
struct ns_owner {
	__u64 cgroup;
	__u32 inum;
	__u32 pad;
};

/* Which kinds of call of each process had a failure shown in the current
 * minute: a process's first failed unshare, setns or clone a minute is
 * critical (denied-namespace-change alerts on it), its repeats are not.
 * Direct-mapped by tgid, like ns_owners: a collision only makes a failure
 * critical. */
#define FAILURE_SLOTS 16384

struct last_failure {
	__u64 boot_ns; /* when the minute began */
	__u32 tgid;
	__u8 kinds; /* 1 << enum event_kind, shown this minute */
	__u8 pad[3];
};

/* The last source a CPU found past both its shares, and until when they
 * stay past them at least: lets a flood skip both bucket lookups. */
struct flood_memo {
	__u64 cgroup;
	__u64 until_ns;
	__u32 uid;
	__u32 pad;
};

/* Where a path is built, from its last component back (identity.h): twice
 * the longest path, so that the verifier can bound every write; and the
 * walk's state from one step to the next. */
#define PATH_WIN 256
struct path_scratch {
	char buf[2 * PATH_WIN];
	__u64 d;   /* the dentry the walk is at */
	__u64 vm;  /* and its vfsmount */
	__s32 pos; /* where the path starts in buf so far */
	__u32 cut; /* PATH_CUT until the walk reaches a root */
};

/* Resolved executables (identity.h): most ancestries share a few. */
#define EXE_CACHE_SLOTS 2048
/* What a path is a function of: the file's dentry and mount, and the
 * task's root; plus the inode and the name's hash, so that a dentry freed
 * and reallocated for another file is not taken for the old one. (A
 * struct file is no key: runc's bind of its own binary shares the inode
 * and dentry of /usr/sbin/runc, and a freed file's address is reused.) */
struct exe_key {
	__u64 dentry;
	__u64 mnt;
	__u64 root;     /* the task's root dentry */
	__u64 root_mnt; /* and its mount */
	__u64 ino;
	__u32 hash; /* d_name.hash */
	__u32 pad;
};

struct exe_val {
	__u32 len; /* bytes of path before its NUL */
	__u32 cut; /* the walk stopped short of the root */
	char path[EXE_LEN + ANC_EXE_LEN]; /* room past EXE_LEN for a bounded tail copy */
};

/* The ancestry that starts at a process, as its children's identities
 * show it (identity.h), with what tells whether it still holds: most
 * processes with namespace events are children of a few (a shell, a
 * runtime). Per CPU, a slot picked by tgid: a collision only walks the
 * chain again. */
#define ANC_MEMO_SLOTS 128
struct anc_check {
	__u64 task;     /* the ancestor's task_struct */
	__u64 mm;       /* its mm_struct: exec replaces it */
	__u64 exe_file; /* its mm's exe_file */
	__u64 root;     /* its root dentry */
	__u64 pid_ns;   /* the pid namespace of its own pid */
	__u64 comm[2];
	__u32 tgid;
	__u16 init;     /* pid 1 there */
	__u16 pad;
};

struct anc_memo {
	__u8 n;     /* ancestors in anc; 0: empty */
	__u8 flags; /* PROC_ANCESTORS_CUT */
	__u8 pad[6];
	__u64 at;   /* the task a walk or a check is at (identity.h) */
	struct anc_check chk[MAX_ANCESTORS];
	struct ancestor anc[MAX_ANCESTORS];
};

#endif
