/* SPDX-License-Identifier: GPL-2.0-only */
/* Fairness under floods. Every event about to be sent is charged to its
 * source's uid, each a token bucket, and once the uid is past its share, to
 * its source's cgroup, another. An event whose uid AND cgroup are both past
 * their share is counted in the flood map (per uid, cgroup, comm, kind,
 * errno) instead of taking ring space,
 * unless detection needs it (critical). A ring fuller than ring_limit takes
 * only critical events. So one user, container or process cannot starve the
 * others: another uid, or another cgroup, still has its own share. */
#ifndef NSTRACE_FLOOD_H
#define NSTRACE_FLOOD_H

/* Buckets as GCRA: a source's "theoretical arrival time" moves forward
 * flood_step_ns per event and may run at most flood_burst_ns ahead of now.
 * flood_step_ns 0 turns the accounting off. Set from Go. */
volatile const __u64 flood_step_ns = 1000000; /* 1000 events/s */
volatile const __u64 flood_burst_ns = 5000ULL * 1000000; /* 5000 events at once */
/* Non-critical events reserve only while the ring holds less than this. */
volatile const __u64 ring_limit = (8 << 20) / 4 * 3;
/* The host's net and mnt namespace inodes, on kernels (< 6.18) where they
 * are not the fixed initial inodes. Set from Go; 0: unknown. */
volatile const __u32 host_net_inum = 0;
volatile const __u32 host_mnt_inum = 0;

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NS_OWNER_SLOTS);
	__type(key, __u32);
	__type(value, struct ns_owner);
} ns_owners SEC(".maps");

static __always_inline struct ns_owner *ns_owner_slot(__u32 inum)
{
	__u32 slot = inum & (NS_OWNER_SLOTS - 1);

	return bpf_map_lookup_elem(&ns_owners, &slot);
}

/* Which kinds of call of each process had a failure shown in the current
 * minute: a process's first failed unshare, setns or clone a minute is
 * critical (denied-namespace-change alerts on it), its repeats are not.
 * Direct-mapped by tgid, like ns_owners: a collision only makes a failure
 * critical. */
#define FAILURE_SLOTS 16384
volatile const __u64 failure_window_ns = 60000000000ULL;

struct last_failure {
	__u64 boot_ns; /* when the minute began */
	__u32 tgid;
	__u8 kinds; /* 1 << enum event_kind, shown this minute */
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FAILURE_SLOTS);
	__type(key, __u32);
	__type(value, struct last_failure);
} failures SEC(".maps");

static __always_inline bool first_failure(struct event *e)
{
	__u32 slot = e->pid & (FAILURE_SLOTS - 1);
	struct last_failure *f = bpf_map_lookup_elem(&failures, &slot);
	__u8 bit = 1 << (e->kind & 7);

	if (!f)
		return true;
	if (f->tgid == e->pid && e->boot_ns - f->boot_ns < failure_window_ns) {
		if (f->kinds & bit)
			return false;
		f->kinds |= bit;
		return true;
	}
	f->tgid = e->pid;
	f->boot_ns = e->boot_ns;
	f->kinds = bit;
	return true;
}

/* Counts of events not sent, in two sides: the programs count into
 * flood_side's, Go empties the other, then flips flood_side. A program that
 * read the old side finishes long before Go reads it a period later. */
struct flood_counts {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* mostly empty */
	__uint(max_entries, 4096);
	__type(key, struct flood_key);
	__type(value, __u64);
} flood0 SEC(".maps"), flood1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct flood_counts);
} floods SEC(".maps") = {
	.values = {&flood0, &flood1},
};

__u32 flood_side = 0;

/* The cgroup a source is charged to: its cgroup v2 id, or, where the task
 * sits at the v2 root (hybrid hosts that run containers under cgroup v1),
 * the id of its v1 memory cgroup (the inode of its directory under
 * /sys/fs/cgroup/memory). Both are kernfs ids: one key space. */
static __always_inline __u64 source_cgroup(struct event *e)
{
	struct task_struct *t;
	struct cgroup_subsys_state *css;
	int memory;

	if (e->cgroup_id != 1 || !bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return e->cgroup_id;
	memory = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (memory < 0 || memory >= 12)
		return e->cgroup_id;
	t = bpf_get_current_task_btf();
	css = t->cgroups->subsys[memory];
	if (!css)
		return e->cgroup_id;
	return css->cgroup->kn->id;
}

/* take charges one event to a bucket; false when it is past its share. */
static __always_inline bool take(void *bucket, void *key, __u64 now)
{
	__u64 *tat = bpf_map_lookup_elem(bucket, key);
	__u64 t;

	if (!tat) {
		t = now + flood_step_ns;
		bpf_map_update_elem(bucket, key, &t, BPF_ANY);
		return true;
	}
	t = *tat;
	if (t < now)
		t = now;
	if (t - now > flood_burst_ns)
		return false;
	*tat = t + flood_step_ns;
	return true;
}

static __always_inline bool initial_ns(int kind, __u32 ino)
{
	/* enum init_ns_ino: 0xEFFFFFF8 (mnt) .. 0xEFFFFFFF (ipc). */
	if (ino >= 0xEFFFFFF8)
		return ino <= 0xEFFFFFFF;
	if (kind == NS_NET)
		return ino == host_net_inum;
	if (kind == NS_MNT)
		return ino == host_mnt_inum;
	return false;
}

/* critical: what a built-in rule fires on, which never goes to the flood
 * map: a user namespace created; a join into an initial namespace, or into
 * one the source's cgroup did not create (nor join before); a failed setns
 * aimed at an initial namespace, and a process's first failure a minute. An event's first create teaches ns_owners
 * who made that namespace (one map update per event keeps the verifier's
 * work small; a namespace not learnt only makes a later join critical). */
static __always_inline bool critical(struct event *e, __u64 cg)
{
	__u32 created = 0, joined = 0;
	struct ns_owner *o;
	bool crit = false;

	if (e->error)
		return (e->target_ino && initial_ns(e->target_kind, e->target_ino)) || first_failure(e);
#pragma unroll
	for (int i = 0; i < NS_KINDS; i++) {
		struct change *c = &e->changes[i];

		if (i >= e->nr_changes)
			break;
		if (c->action == ACTION_CREATE) {
			crit |= c->kind == NS_USER;
			created = c->to;
		} else if (c->action == ACTION_JOIN) {
			crit |= initial_ns(c->kind, c->to);
			joined = c->to;
		}
	}
	if (crit)
		return true;
	if (created && (o = ns_owner_slot(created))) {
		o->inum = created;
		o->cgroup = cg;
	}
	if (!joined)
		return false;
	o = ns_owner_slot(joined);
	if (!o)
		return true;
	if (o->inum == joined && o->cgroup == cg)
		return false;
	o->inum = joined;
	o->cgroup = cg;
	return true;
}

static __always_inline void count_flood(struct event *e, __u64 cg)
{
	struct flood_key k = {.cgroup = cg, .uid = e->uid, .error = e->error, .kind = e->kind};
	__u32 side = flood_side & 1;
	__u64 one = 1, *n;
	void *counts;

	__builtin_memcpy(k.comm, e->comm, sizeof(k.comm));
	counts = bpf_map_lookup_elem(&floods, &side);
	if (!counts) {
		count_drop(DROP_FLOOD_FULL);
		return;
	}
	n = bpf_map_lookup_elem(counts, &k);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	if (!bpf_map_update_elem(counts, &k, &one, BPF_NOEXIST))
		return;
	n = bpf_map_lookup_elem(counts, &k); /* another CPU added it first */
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		count_drop(DROP_FLOOD_FULL);
}

/* Whether the ring has room for an event that is not critical. */
static __always_inline bool ring_has_room(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < ring_limit;
}

/* admit tells whether e may take ring space; if not, it is counted. The
 * uid's bucket is asked first: while it has room (the common case) that is
 * one map lookup, and the cgroup is looked at only for a uid past its
 * share. The ring's fill is read only for an event a bucket let through.
 * A global function: the verifier checks it once per program, not
 * once per caller, which keeps the start fast. */
__noinline int admit(struct event *e)
{
	__u32 uid;
	__u64 cg;

	if (!e || !flood_step_ns)
		return true;
	uid = e->uid;
	if (take(&uid_bucket, &uid, e->boot_ns) && ring_has_room())
		return true;
	cg = source_cgroup(e);
	if (take(&cgroup_bucket, &cg, e->boot_ns) && ring_has_room())
		return true;
	if (critical(e, cg))
		return true;
	count_flood(e, cg);
	return false;
}

#endif
