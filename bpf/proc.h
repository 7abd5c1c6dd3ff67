/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The identity of the process behind an event, carried in its record
 * (struct event's proc): executable, arguments, ancestry. bpf2go mirrors
 * these in Go (gen.NstraceProc, gen.NstraceAncestor). */
#ifndef NSTRACE_PROC_H
#define NSTRACE_PROC_H

#include "vmlinux.h"

#define EXE_LEN      256 /* the process's executable, as its root sees it */
#define EXE_ARG_LEN  256 /* the path as passed to execve */
#define ARGS_LEN     1024
#define ANC_EXE_LEN  128 /* an ancestor's executable: its tail when longer */
#define MAX_ANCESTORS 8

/* proc.flags */
enum proc_flag {
	PROC_EXE_CUT = 1,        /* exe is the tail of a longer path */
	PROC_ARGS_CUT = 2,       /* argv was longer than ARGS_LEN */
	PROC_ANCESTORS_CUT = 4,  /* more than MAX_ANCESTORS before an init */
	PROC_NS_INIT = 8,        /* pid 1 of a pid namespace that is not the host's */
	PROC_FROM_OUTSIDE = 16,  /* in a non-host pid namespace, with a parent outside it
	                          * before that namespace's init: entered, not born, there */
	PROC_EXE_ARG_CUT = 32,
	PROC_NO_EXEC = 64,       /* no exec seen since tracing began: exe_arg unknown */
};

struct ancestor {
	__u32 pid;
	__u32 pad;
	char comm[16];
	char exe[ANC_EXE_LEN];
};

struct proc {
	__u64 exec_id; /* boot ns of the exec (or the process's start): which image */
	__u32 tgid;
	__u16 args_len; /* bytes of args used: NUL-separated argv */
	__u8 nr_ancestors;
	__u8 flags;      /* enum proc_flag */
	__u64 sent_ns;   /* unused: exec_info.sent_ns says when it went whole */
	char exe[EXE_LEN];
	char exe_arg[EXE_ARG_LEN];
	struct ancestor ancestors[MAX_ANCESTORS]; /* parent first; nr_ancestors used */
	char args[ARGS_LEN];                      /* last: sent trimmed to args_len */
};

/* Kept per process from its exec (task storage of the group leader). It
 * also says when a record last carried this image's identity whole, so
 * that most events check their process with this one small lookup. */
struct exec_info {
	__u64 exec_id;
	__u64 sent_ns; /* 0: not sent whole since the exec */
	__u32 tgid;
	__u32 pad;
	char exe_arg[EXE_ARG_LEN];
};

/* When a process with no exec seen (its image is the one it started with,
 * exec_id its start time) last went whole in a record: a slot picked by
 * tgid in a plain array, not task storage, whose first use per process
 * allocates and costs more than the rest of the identity. A collision or a
 * torn write only sends an identity whole again: a slot names the process
 * only if both its tgid and its start time match. */
#define PROC_SENT_SLOTS 16384
struct proc_sent {
	__u64 exec_id;
	__u64 sent_ns;
	__u32 tgid;
	__u32 pad;
};

/* The last process image this CPU named by reference, with exec_ts's word
 * then: a churning process's next record names it again without the task
 * storage lookup. Valid while no exec was noted since (exec_gen) and the
 * leader is the same (tgid and start time); sent_ns may lag exec_ts's,
 * which only sends an identity whole sooner. */
struct exec_memo {
	__u64 gen; /* exec_gen when exec_ts was read */
	__u64 start_time; /* the group leader's */
	__u64 exec_id;
	__u64 sent_ns;
	__u32 tgid;
	__u32 pad;
};

/* How long the records of one process image name it only: a reader that
 * lost the whole one (or forgot it) has it again within this. */
#define PROC_RESEND_NS 1000000000ULL

/* event.has_proc */
enum proc_form {
	PROC_NONE = 0,
	PROC_WHOLE = 1,
	PROC_REF = 2, /* only event.proc_exec_id and proc_tgid: as sent whole before */
};

#endif
