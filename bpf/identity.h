/* SPDX-License-Identifier: GPL-2.0-only */
/* The process behind an event: its executable (resolved from the file it
 * runs, not from the name it was started by), arguments and ancestry, read
 * in the kernel while the process runs the call, so that a process that
 * execs, calls setns and exits within a millisecond still has them. Computed
 * at a process image's first admitted event, straight into the record,
 * and again at most once per PROC_RESEND_NS; the events between name it
 * only. Execs record when and by which path they happened, and the first
 * record when the identity went whole, in the task storage of the group
 * leader (`exec_ts`): no other process can evict it, and it goes with the
 * task.
 *
 * Code, not declarations: nstrace.bpf.c includes it after its maps
 * (exec_ts, path_scratch, exe_cache, exe_scratch) and cfg; record.h before it. */
#ifndef NSTRACE_IDENTITY_H
#define NSTRACE_IDENTITY_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "event.h"
#include "proc.h"
#include "state.h"

/* How many path components a walk follows; a deeper path keeps its tail. */
#define PATH_COMPONENTS 32
#define PATH_CUT 0x10000

/* Hides a value's range from clang, which would otherwise drop a mask it
 * can prove redundant and that the verifier needs to bound an access. */
#define opaque(v) asm volatile("" : "+r"(v))

/* ---- exec: remember when and by which path ---- */

static __always_inline int note_exec(const char *filename)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct exec_info *x;

	if (!cfg.use_task_storage || !wanted_tgid(t->tgid))
		return 0;
	/* After exec the caller is its group's leader (de_thread). */
	x = bpf_task_storage_get(&exec_ts, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!x)
		return 0;
	x->exec_id = bpf_ktime_get_boot_ns();
	x->sent_ns = 0;
	x->tgid = t->tgid;
	if (bpf_probe_read_kernel_str(x->exe_arg, sizeof(x->exe_arg), filename) < 0)
		x->exe_arg[0] = 0;
	/* After exec_ts: an exec_memo read before this is stale. */
	__sync_fetch_and_add(&exec_gen, 1);
	return 0;
}

/* ---- paths ---- */

/* path_step prepends one component of the walk that resolve_path does,
 * or crosses one mount point, from the walk's state in s (where it is, and
 * how far the path goes). It returns 1 once the walk is over. A global
 * function, called once a step: the verifier checks a step once, and each
 * call to it in a few instructions, where a loop of inlined steps would
 * have it check every step along every way through the one before. */
__noinline int path_step(const struct exe_key *k, struct path_scratch *s)
{
	__u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct dentry *d, *parent, *mnt_root;
	struct vfsmount *vm;
	struct mount *m, *mp;
	const unsigned char *name;
	__u32 len;
	int pos, at;

	if (!k || !s)
		return 1;
	d = (struct dentry *)s->d;
	vm = (struct vfsmount *)s->vm;
	if ((__u64)d == k->root && (__u64)vm == k->root_mnt) {
		s->cut = 0;
		return 1;
	}
	m = (struct mount *)((__u64)vm - mnt_off);
	mnt_root = BPF_CORE_READ(vm, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root) {
		mp = BPF_CORE_READ(m, mnt_parent);
		if (mp != m && mp) {
			s->d = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
			s->vm = (__u64)mp + mnt_off;
			return 0;
		}
		/* The root of the mount tree; or, with nothing prepended yet,
		 * a file that is itself the root of a detached mount (runc's
		 * read-only bind of its own binary): its name. */
		s->cut = 0;
		if (s->pos < PATH_WIN)
			return 1;
		parent = d;
	}
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	pos = s->pos;
	if (len >= PATH_WIN || pos - (int)len - 1 < 1)
		return 1;
	pos -= len + 1;
	s->pos = pos;
	at = pos;
	opaque(at);
	opaque(len);
	at &= PATH_WIN - 1;
	len &= PATH_WIN - 1;
	s->buf[at] = '/';
	bpf_probe_read_kernel(&s->buf[at + 1], len, name);
	if (d == parent) { /* not under a mount's root: memfd, pipe */
		s->cut = 0;
		return 1;
	}
	s->d = (__u64)parent;
	return 0;
}

/* resolve_path builds the path of dentry on vfsmnt, as seen from the root
 * (root_dentry, root_mnt), into path_scratch, crossing mount points, like
 * the kernel's d_path. It returns where the path starts in buf (it ends at
 * PATH_WIN), with PATH_CUT set when the walk stopped short of the root, or
 * -1. A file on no mounted tree (memfd, a deleted root) reads as its own
 * name under "/". Global: the verifier checks the walk once, not once per
 * caller. Pointers come as numbers and are read with probe reads. */
__noinline int resolve_path(const struct exe_key *k)
{
	struct path_scratch *s;
	__u32 zero = 0;
	int pos;

	s = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!s || !k || !k->dentry || !k->mnt)
		return -1;
	s->d = k->dentry;
	s->vm = k->mnt;
	s->pos = PATH_WIN;
	s->cut = PATH_CUT;
	for (int i = 0; i < PATH_COMPONENTS; i++)
		if (path_step(k, s))
			break;
	pos = s->pos;
	if (pos >= PATH_WIN || pos < 1) {
		pos = PATH_WIN - 1;
		s->buf[pos] = '/';
	}
	return pos | s->cut;
}

/* copy_path copies what resolve_path returned into dst (size bytes, a power
 * of two), keeping the tail of a path longer than dst. True when cut. */
static __always_inline bool copy_path(char *dst, int size, int r)
{
	struct path_scratch *s;
	__u32 zero = 0;
	int pos, n;
	bool cut;

	s = bpf_map_lookup_elem(&path_scratch, &zero);
	if (r < 0 || !s) {
		dst[0] = 0;
		return false;
	}
	cut = r & PATH_CUT;
	pos = r & (PATH_WIN - 1);
	n = PATH_WIN - pos;
	if (n > size - 1) {
		n = size - 1;
		pos = PATH_WIN - n;
		cut = true;
	}
	opaque(n);
	opaque(pos);
	n &= size - 1;
	pos &= PATH_WIN - 1;
	bpf_probe_read_kernel(dst, n, &s->buf[pos]);
	dst[n] = 0;
	return cut;
}

/* exe_key_read fills k with what a task's executable path is a function
 * of; false when it has none (a kernel thread). Probe reads: the verifier
 * checks a plain load through a task's BTF pointer by looking its type up,
 * which in the ancestors' loop would take it seconds at startup. */
static __always_inline bool exe_key_read(struct task_struct *t, struct exe_key *k)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	struct fs_struct *fs;
	struct file *f;

	if (!mm)
		return false;
	f = BPF_CORE_READ(mm, exe_file);
	if (!f)
		return false;
	fs = BPF_CORE_READ(t, fs);
	if (fs) {
		k->root = (__u64)BPF_CORE_READ(fs, root.dentry);
		k->root_mnt = (__u64)BPF_CORE_READ(fs, root.mnt);
	}
	k->dentry = (__u64)BPF_CORE_READ(f, f_path.dentry);
	k->mnt = (__u64)BPF_CORE_READ(f, f_path.mnt);
	k->ino = BPF_CORE_READ(f, f_inode, i_ino);
	k->hash = BPF_CORE_READ(f, f_path.dentry, d_name.hash);
	return true;
}

/* exe_key_load is exe_key_read with plain loads, for the current task
 * outside any loop: once per program, the verifier's lookups are cheap. */
static __always_inline bool exe_key_load(struct task_struct *t, struct exe_key *k)
{
	struct mm_struct *mm = t->mm;
	struct fs_struct *fs;
	struct dentry *d;
	struct file *f;

	if (!mm)
		return false;
	f = mm->exe_file;
	if (!f)
		return false;
	fs = t->fs;
	if (fs) {
		k->root = (__u64)fs->root.dentry;
		k->root_mnt = (__u64)fs->root.mnt;
	}
	d = f->f_path.dentry;
	k->dentry = (__u64)d;
	k->mnt = (__u64)f->f_path.mnt;
	k->ino = f->f_inode->i_ino;
	/* A probe read: a BTF load would have the verifier walk d_name's
	 * anonymous union (and 6.1's refuses hash_len, read through it). */
	k->hash = BPF_CORE_READ(d, d_name.hash);
	return true;
}

/* exe_path is the executable path k describes, as its task's root sees
 * it, from exe_cache (keyed by what the path is a function of: a shell,
 * sshd or a runtime is in most chains; a file renamed since keeps its old
 * path until evicted) or resolved now and cached. The value may be per-CPU
 * scratch: copy it before the next call. */
static __always_inline struct exe_val *exe_path(struct exe_key *k)
{
	struct exe_val *v;
	__u32 zero = 0;
	int r, pos;

	v = bpf_map_lookup_elem(&exe_cache, k);
	if (v)
		return v;
	v = bpf_map_lookup_elem(&exe_scratch, &zero);
	if (!v)
		return 0;
	r = resolve_path(k);
	if (r < 0)
		return 0;
	v->cut = copy_path(v->path, EXE_LEN, r);
	pos = r & (PATH_WIN - 1);
	v->len = PATH_WIN - pos > EXE_LEN - 1 ? EXE_LEN - 1 : PATH_WIN - pos;
	bpf_map_update_elem(&exe_cache, k, v, BPF_ANY);
	return v;
}

/* ancestor_exe copies v's path into an ancestor's shorter field: its tail
 * when longer. True when cut. */
static __always_inline bool ancestor_exe(char *dst, struct exe_val *v)
{
	__u32 off = 0;

	if (v->len > ANC_EXE_LEN - 1)
		off = v->len - (ANC_EXE_LEN - 1);
	opaque(off);
	off &= EXE_LEN - 1;
	bpf_probe_read_kernel(dst, ANC_EXE_LEN, &v->path[off]);
	dst[ANC_EXE_LEN - 1] = 0;
	return off || v->cut;
}

/* A task's pid in its own pid namespace, and that namespace. */
static __always_inline struct upid own_upid(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &p->numbers[level]);
	return up;
}

/* ---- ancestors ---- */

/* The memo of the ancestry that starts at a process (its children's
 * ancestors), from this CPU's slot for its tgid. */
static __always_inline struct anc_memo *anc_memo_of(__u32 tgid)
{
	__u32 slot = tgid & (ANC_MEMO_SLOTS - 1);

	return bpf_map_lookup_elem(&anc_memo, &slot);
}

/* The root a task's paths are seen from. */
static __always_inline __u64 task_root(struct task_struct *a)
{
	return (__u64)BPF_CORE_READ(a, fs, root.dentry);
}

static __always_inline __u64 task_exe_file(struct mm_struct *mm)
{
	return (__u64)BPF_CORE_READ(mm, exe_file);
}

/* anc_holds tells whether slot i of m still describes the task at m->at:
 * the same task, with the same comm, address space, executable file and
 * root, which are what its fields are read from (a path is cached by
 * exe_cache on those); and moves m->at to that task's parent process. A
 * few loads per ancestor, against the cache lookup, copies and probe reads
 * of anc_read: plain loads through the task cast (see readable), where the
 * kernel has bpf_rdonly_cast; else probe reads, several times slower.
 * Global, called once an ancestor, like path_step. */
__noinline int anc_holds(struct anc_memo *m, int i)
{
	struct anc_check *c;
	struct task_struct *a;
	struct mm_struct *mm;
	__u64 comm[2], at;

	if (!m)
		return 0;
	c = &m->chk[i & (MAX_ANCESTORS - 1)];
	at = m->at;
	if (!at || at != c->task)
		return 0;
	if (cfg.rdonly_cast) {
		a = bpf_rdonly_cast((void *)at, bpf_core_type_id_kernel(struct task_struct));
		mm = a->mm;
		if (a->tgid != c->tgid || *(__u64 *)&a->comm[0] != c->comm[0] ||
		    *(__u64 *)&a->comm[8] != c->comm[1] || (__u64)mm != c->mm ||
		    (__u64)mm->exe_file != c->exe_file || (__u64)a->fs->root.dentry != c->root)
			return 0;
		m->at = (__u64)a->real_parent->group_leader;
		return 1;
	}
	a = (struct task_struct *)at;
	if (BPF_CORE_READ(a, tgid) != c->tgid)
		return 0;
	bpf_core_read(comm, sizeof(comm), &a->comm);
	if (comm[0] != c->comm[0] || comm[1] != c->comm[1])
		return 0;
	mm = BPF_CORE_READ(a, mm);
	if ((__u64)mm != c->mm || task_exe_file(mm) != c->exe_file || task_root(a) != c->root)
		return 0;
	m->at = (__u64)BPF_CORE_READ(a, real_parent, group_leader);
	return 1;
}

/* memo_holds tells whether m still describes the chain that starts at a. */
static __always_inline bool memo_holds(struct anc_memo *m, struct task_struct *a)
{
	__u8 n = m->n;

	if (!n || n > MAX_ANCESTORS)
		return false;
	m->at = (__u64)a;
	for (int i = 0; i < MAX_ANCESTORS; i++) {
		if (i >= n)
			break;
		if (!anc_holds(m, i))
			return false;
	}
	return true;
}

/* anc_read reads the task at m->at into slot i of m, and moves m->at to
 * its parent process. It returns 1 when the chain ends: no task there, or
 * an init of a pid namespace (the host's, or a container's). Global, like
 * anc_holds. */
__noinline int anc_read(struct anc_memo *m, int i)
{
	struct anc_check *c;
	struct ancestor *an;
	struct task_struct *a;
	struct exe_key k = {};
	struct mm_struct *mm;
	struct exe_val *v;
	struct upid up;
	__u32 tgid;

	if (!m)
		return 1;
	c = &m->chk[i & (MAX_ANCESTORS - 1)];
	an = &m->anc[i & (MAX_ANCESTORS - 1)];
	a = (struct task_struct *)m->at;
	tgid = a ? BPF_CORE_READ(a, tgid) : 0;
	if (!tgid)
		return 1;
	an->pid = tgid;
	an->pad = 0;
	c->comm[0] = c->comm[1] = 0;
	bpf_core_read_str(c->comm, sizeof(c->comm), &a->comm);
	__builtin_memcpy(an->comm, c->comm, sizeof(an->comm));
	v = exe_key_read(a, &k) ? exe_path(&k) : 0;
	an->exe[0] = 0;
	if (v)
		ancestor_exe(an->exe, v);
	mm = BPF_CORE_READ(a, mm);
	c->task = (__u64)a;
	c->tgid = tgid;
	c->mm = (__u64)mm;
	c->exe_file = task_exe_file(mm);
	c->root = task_root(a);
	up = own_upid(a);
	c->pid_ns = (__u64)up.ns;
	c->init = up.nr == 1;
	m->n = (i & (MAX_ANCESTORS - 1)) + 1;
	if (up.nr == 1) /* an init: the host's or a container's */
		return 1;
	a = BPF_CORE_READ(a, real_parent, group_leader);
	m->at = (__u64)a;
	if (i == MAX_ANCESTORS - 1 && a && BPF_CORE_READ(a, tgid) != 0)
		m->flags = PROC_ANCESTORS_CUT;
	return 0;
}

/* walk_ancestors reads the chain that starts at a into m: up to the init of
 * a pid namespace (the host's, or a container's), MAX_ANCESTORS at most. */
static __always_inline void walk_ancestors(struct anc_memo *m, struct task_struct *a)
{
	m->flags = 0;
	m->n = 0;
	m->at = (__u64)a;
	for (int i = 0; i < MAX_ANCESTORS; i++)
		if (anc_read(m, i))
			break;
}

/* ancestors makes m describe the chain that starts at the task at m->at:
 * the current process's parent, its leader. Global, like resolve_path: the
 * verifier checks its loops once, apart from the paths of its caller. */
__noinline int ancestors(struct anc_memo *m)
{
	struct task_struct *a;

	if (!m)
		return 0;
	a = (struct task_struct *)m->at;
	if (!memo_holds(m, a))
		walk_ancestors(m, a);
	return 0;
}

/* ---- the identity ---- */

/* fill_proc computes the current process's identity into p: exe, argv (as
 * its memory holds it now, right after exec for a process's first event),
 * and its ancestors up to the init of a pid namespace (the host's, or a
 * container's). Global, like resolve_path. */
__noinline int fill_proc(struct proc *p)
{
	struct task_struct *t = current_readable(), *a;
	struct exe_key k = {};
	struct anc_memo *m;
	struct exe_val *v;
	struct upid self;
	struct pid *pid;
	unsigned long start, end;
	struct mm_struct *mm;
	unsigned int level;
	bool outside_known = false;
	__u32 len;
	__u8 n = 0;

	if (!p)
		return 0;
	p->tgid = t->tgid;
	p->flags &= PROC_NO_EXEC | PROC_EXE_ARG_CUT;
	p->args_len = 0;
	v = exe_key_load(t, &k) ? exe_path(&k) : 0;
	p->exe[0] = 0;
	if (v) {
		__builtin_memcpy(p->exe, v->path, EXE_LEN);
		if (v->cut)
			p->flags |= PROC_EXE_CUT;
	}
	mm = t->mm;
	if (mm) {
		start = mm->arg_start;
		end = mm->arg_end;
		len = end > start ? end - start : 0;
		if (len > ARGS_LEN - 1) {
			len = ARGS_LEN - 1;
			p->flags |= PROC_ARGS_CUT;
		}
		opaque(len);
		len &= ARGS_LEN - 1;
		if (len && !bpf_probe_read_user(p->args, len, (void *)start))
			p->args_len = len;
	}
	pid = t->thread_pid;
	level = pid->level;
	/* Plain loads at a constant index; a deeper pid's index is not. */
	if (level == 0) {
		self.nr = pid->numbers[0].nr;
		self.ns = pid->numbers[0].ns;
	} else {
		self = own_upid(t);
	}
	if (level > 0 && self.nr == 1) {
		p->flags |= PROC_NS_INIT;
		outside_known = true;
	}
	/* real_parent is the thread that forked; its process is its leader. */
	a = t->group_leader->real_parent->group_leader;
	m = anc_memo_of(a->tgid);
	if (!m)
		return 0;
	m->at = (__u64)a;
	ancestors(m);
	n = m->n;
	if (n > MAX_ANCESTORS)
		n = MAX_ANCESTORS;
	/* Only the ancestors used: Go reads no others. */
	for (int i = 0; i < MAX_ANCESTORS; i++) {
		if (i >= n)
			break;
		__builtin_memcpy(&p->ancestors[i], &m->anc[i], sizeof(p->ancestors[i]));
	}
	p->flags |= m->flags;
	for (int i = 0; i < MAX_ANCESTORS; i++) {
		struct anc_check *c = &m->chk[i & (MAX_ANCESTORS - 1)];

		if (i >= n || level == 0 || outside_known)
			break;
		if (c->pid_ns != (__u64)self.ns)
			p->flags |= PROC_FROM_OUTSIDE;
		outside_known = c->pid_ns != (__u64)self.ns || c->init;
	}
	p->nr_ancestors = n;
	return 0;
}

static __always_inline struct proc_sent *proc_sent_slot(__u32 tgid)
{
	__u32 slot = tgid & (PROC_SENT_SLOTS - 1);

	return bpf_map_lookup_elem(&proc_sent_slots, &slot);
}

/* attach_proc fills e->proc with the current process's identity, computed
 * now into the record itself; or, when a record carried it whole less than
 * PROC_RESEND_NS ago, only names it in the header (Go keeps what it was
 * sent): that check
 * is one lookup of the small exec_ts, or of proc_sent_slots for a process
 * with no exec seen. Nothing bigger is kept per process: an image is
 * computed at its first event and at most once per PROC_RESEND_NS after.
 * Returns how many bytes of e to send, 0 for the header and changes only.
 * Global, like admit. */
__noinline int attach_proc(struct event *e)
{
	struct task_struct *t = bpf_get_current_task_btf(), *leader;
	struct exec_info *x = 0;
	struct exec_memo *m = 0;
	struct proc_sent *ps;
	__u64 exec_id, sent_ns = 0, gen = 0;
	__u32 tgid, args_len, zero = 0;

	if (!e)
		return 0;
	leader = t->group_leader;
	tgid = t->tgid;
	/* Two loads, not one through either pointer, which clang would make
	 * and the verifier refuses ("same insn cannot be used with different
	 * pointers"). */
	exec_id = leader->start_time;
	opaque(exec_id);
	if (cfg.use_task_storage) {
		m = bpf_map_lookup_elem(&exec_memo, &zero);
		gen = exec_gen;
		if (m && m->tgid == tgid && m->start_time == exec_id && m->gen == gen &&
		    e->boot_ns - m->sent_ns < PROC_RESEND_NS) {
			e->proc_tgid = tgid;
			e->proc_exec_id = m->exec_id;
			e->proc.exec_id = m->exec_id;
			e->has_proc = PROC_REF;
			return 0;
		}
		x = bpf_task_storage_get(&exec_ts, leader, 0, 0);
		if (x && x->tgid != tgid)
			x = 0;
	}
	if (x) {
		if (m && x->sent_ns && e->boot_ns - x->sent_ns < PROC_RESEND_NS) {
			m->gen = gen;
			m->start_time = exec_id;
			m->exec_id = x->exec_id;
			m->sent_ns = x->sent_ns;
			m->tgid = tgid;
		}
		exec_id = x->exec_id;
		sent_ns = x->sent_ns;
	} else {
		/* No exec seen: the image is the one the process started with. */
		ps = proc_sent_slot(tgid);
		if (ps && ps->tgid == tgid && ps->exec_id == exec_id)
			sent_ns = ps->sent_ns;
	}
	e->proc.exec_id = exec_id;
	if (sent_ns && e->boot_ns - sent_ns < PROC_RESEND_NS) {
		/* Named in the header: the record stays header and changes. */
		e->proc_tgid = tgid;
		e->proc_exec_id = exec_id;
		e->has_proc = PROC_REF;
		return 0;
	}
	e->proc.flags = 0;
	if (x) {
		__builtin_memcpy(e->proc.exe_arg, x->exe_arg, sizeof(e->proc.exe_arg));
	} else {
		e->proc.exe_arg[0] = 0;
		e->proc.flags = PROC_NO_EXEC;
	}
	fill_proc(&e->proc);
	e->proc.sent_ns = 0;
	args_len = e->proc.args_len;
	if (args_len > ARGS_LEN)
		args_len = ARGS_LEN;
	e->has_proc = PROC_WHOLE;
	return EVENT_PROC_SIZE(args_len);
}

/* proc_sent notes that e carried its process whole into the ring: the
 * next records of that image name it only, for a while. */
__noinline int proc_sent(struct event *e)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct exec_info *x;
	struct proc_sent *ps;

	if (!e)
		return 0;
	if (e->proc.flags & PROC_NO_EXEC) {
		ps = proc_sent_slot(e->proc.tgid);
		if (ps) {
			ps->tgid = e->proc.tgid;
			ps->exec_id = e->proc.exec_id;
			ps->sent_ns = e->boot_ns;
		}
		return 0;
	}
	if (!cfg.use_task_storage)
		return 0;
	x = bpf_task_storage_get(&exec_ts, t->group_leader, 0, 0);
	if (x && x->exec_id == e->proc.exec_id && x->tgid == e->proc.tgid)
		x->sent_ns = e->boot_ns;
	return 0;
}

#endif
