/* SPDX-License-Identifier: GPL-2.0-only */
/* Fairness under floods. Every event about to be sent is charged to its
 * source's uid, each a token bucket, and once the uid is past its share, to
 * its source's cgroup, another. An event whose uid AND cgroup are both past
 * their share is counted in the flood map (per uid, cgroup, comm, kind,
 * errno) instead of taking ring space,
 * unless detection needs it (critical). A ring fuller than cfg.ring_limit takes
 * only critical events. So one user, container or process cannot starve the
 * others: another uid, or another cgroup, still has its own share. */
#ifndef NSTRACE_FLOOD_H
#define NSTRACE_FLOOD_H

/* Code, not declarations: nstrace.bpf.c includes it after its maps
 * (uid_bucket, cgroup_bucket, ns_owners, failures, flood0, flood1, events) and
 * the config; record.h before it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "event.h"
#include "state.h"
#include "record.h"

static __always_inline struct ns_owner *ns_owner_slot(__u32 inum)
{
	__u32 slot = inum & (NS_OWNER_SLOTS - 1);

	return bpf_map_lookup_elem(&ns_owners, &slot);
}

static __always_inline bool first_failure(struct event *e)
{
	__u32 slot = e->pid & (FAILURE_SLOTS - 1);
	struct last_failure *f = bpf_map_lookup_elem(&failures, &slot);
	__u8 bit = 1 << (e->kind & 7);

	if (!f)
		return true;
	if (f->tgid == e->pid && e->boot_ns - f->boot_ns < cfg.failure_window_ns) {
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

/* take charges one event to a bucket; false when it is past its share, and
 * then *until is when it may have room again (it only moves later). */
static __always_inline bool take(void *bucket, void *key, __u64 now, __u64 *until)
{
	__u64 *tat = bpf_map_lookup_elem(bucket, key);
	__u64 t;

	if (!tat) {
		t = now + cfg.flood_step_ns;
		bpf_map_update_elem(bucket, key, &t, BPF_ANY);
		return true;
	}
	t = *tat;
	if (t < now)
		t = now;
	if (t - now > cfg.flood_burst_ns) {
		*until = t - cfg.flood_burst_ns;
		return false;
	}
	*tat = t + cfg.flood_step_ns;
	return true;
}

static __always_inline bool initial_ns(int type, __u32 ino)
{
	/* enum init_ns_ino: 0xEFFFFFF8 (mnt) .. 0xEFFFFFFF (ipc). */
	if (ino >= 0xEFFFFFF8)
		return ino <= 0xEFFFFFFF;
	if (type == NS_NET)
		return ino == cfg.host_net_inum;
	if (type == NS_MNT)
		return ino == cfg.host_mnt_inum;
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
		return (e->target_ino && initial_ns(e->target_type, e->target_ino)) ||
		       first_failure(e);
#pragma unroll
	for (int i = 0; i < NS_TYPES; i++) {
		struct change *c = &e->changes[i];

		if (i >= e->nr_changes)
			break;
		if (c->action == ACTION_CREATE) {
			crit |= c->type == NS_USER;
			created = c->to;
		} else if (c->action == ACTION_JOIN) {
			crit |= initial_ns(c->type, c->to);
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

/* count_in adds one to k's count in counts (flood0 or flood1). */
static __always_inline void count_in(void *counts, struct flood_key *k)
{
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(counts, k);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	if (!bpf_map_update_elem(counts, k, &one, BPF_NOEXIST))
		return;
	n = bpf_map_lookup_elem(counts, k); /* another CPU added it first */
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		count_drop(DROP_FLOOD_FULL);
}

static __always_inline void count_flood(struct event *e, __u64 cg)
{
	struct flood_key k = { .cgroup = cg, .uid = e->uid, .error = e->error, .kind = e->kind };

	__builtin_memcpy(k.comm, e->comm, sizeof(k.comm));
	if (flood_side & 1)
		count_in(&flood1, &k);
	else
		count_in(&flood0, &k);
}

/* Whether the ring has room for an event that is not critical. */
static __always_inline bool ring_has_room(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < cfg.ring_limit;
}

/* admit tells whether e may take ring space; if not, it is counted. The
 * uid's bucket is asked first: while it has room (the common case) that is
 * one map lookup, and the cgroup is looked at only for a uid past its
 * share. The ring's fill is read only for an event a bucket let through, and
 * a source past both shares skips its buckets (flood_memo).
 * A global function: the verifier checks it once per program, not
 * once per caller, which keeps the start fast. */
__noinline int admit(struct event *e)
{
	__u64 now = e ? e->boot_ns : 0, uid_until = 0, cg_until = 0, cg;
	struct flood_memo *m;
	__u32 uid, zero = 0;

	if (!e || !cfg.flood_step_ns)
		return true;
	uid = e->uid;
	/* A source this CPU found past both shares stays so until the memo's
	 * time: its buckets need not be asked again before then. */
	m = bpf_map_lookup_elem(&flood_memo, &zero);
	if (m && m->uid == uid && now < m->until_ns) {
		cg = source_cgroup(e);
		if (cg == m->cgroup)
			goto past;
	}
	if (take(&uid_bucket, &uid, now, &uid_until) && ring_has_room())
		return true;
	cg = source_cgroup(e);
	if (take(&cgroup_bucket, &cg, now, &cg_until) && ring_has_room())
		return true;
	if (m && uid_until && cg_until) {
		m->uid = uid;
		m->cgroup = cg;
		m->until_ns = uid_until < cg_until ? uid_until : cg_until;
	}
past:
	if (critical(e, cg))
		return true;
	count_flood(e, cg);
	return false;
}

#endif
