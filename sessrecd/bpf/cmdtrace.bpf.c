// SPDX-License-Identifier: GPL-2.0
/* cmdtrace.bpf.c: the kernel side of sessrecd's command tracer
 * (docs/architecture.md, "Commands"): fork, exec and exit of the processes
 * of recorded sessions, filtered in the kernel by a map of tracked tgids
 * (filled by the daemon, children added at fork) and of audit session ids;
 * exec (argv from the new image, cwd, uid, ppid) and exit (status, duration)
 * records to a ring buffer. Untracked processes cost a hash lookup. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cmdtrace.h"

char LICENSE[] SEC("license") = "GPL"; /* bpf_probe_read_* and tp_btf need a GPL program */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tgid */
	__type(value, struct cmdtrace_owner);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* audit session id */
	__type(value, struct cmdtrace_owner);
} audit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* [0]: records that did not fit the ring buffer; [1]: tracked pids not
 * added because the map was full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* One record being built per CPU: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cmdtrace_rec);
} scratch SEC(".maps");

static __always_inline void count_lost(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/* The owner of p by its audit session id, if the daemon named it. */
static __always_inline struct cmdtrace_owner *by_audit(struct task_struct *p)
{
	__u32 ses;

	if (!bpf_core_field_exists(p->sessionid))
		return 0;
	ses = BPF_CORE_READ(p, sessionid);
	if (ses == (__u32)-1)
		return 0;
	return bpf_map_lookup_elem(&audit, &ses);
}

/* The owner of p, adding p to tracked when it was found by audit id. */
static __always_inline struct cmdtrace_owner *owner_of(struct task_struct *p, __u32 tgid)
{
	struct cmdtrace_owner *o = bpf_map_lookup_elem(&tracked, &tgid), *a, n = {};

	if (o)
		return o;
	a = by_audit(p);
	if (!a)
		return 0;
	n.tag = a->tag;
	if (bpf_map_update_elem(&tracked, &tgid, &n, BPF_NOEXIST) != 0)
		count_lost(1);
	return bpf_map_lookup_elem(&tracked, &tgid);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(cmdtrace_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), cpid = BPF_CORE_READ(child, pid);
	struct cmdtrace_owner *o, n = {};

	if (cpid != (__u32)BPF_CORE_READ(child, tgid))
		return 0; /* a thread: its process is tracked already, or not */
	o = bpf_map_lookup_elem(&tracked, &ptgid);
	if (!o)
		o = by_audit(child);
	if (!o)
		return 0;
	n.tag = o->tag;
	if (bpf_map_update_elem(&tracked, &cpid, &n, BPF_ANY) != 0)
		count_lost(1);
	return 0;
}

/* The cwd walk, one component per bpf_loop step: the verifier checks a
 * step once instead of every unrolled path (a plain loop exceeds its limit). */
struct cwd_walk {
	struct dentry *d, *root_d;
	struct vfsmount *vm, *root_m;
	struct mount *m;
	__u32 off;
	__u32 cut;
};

static long cwd_step(__u32 i, void *ctx)
{
	struct cwd_walk *w = ctx;
	/* Plain locals: a CO-RE read through w would relocate struct cwd_walk. */
	struct dentry *d = w->d, *parent = BPF_CORE_READ(d, d_parent);
	struct vfsmount *vm = w->vm;
	struct mount *m = w->m;
	struct cmdtrace_rec *e;
	const unsigned char *name;
	__u32 zero = 0, off = w->off;
	long n;

	if (d == w->root_d && vm == w->root_m) {
		w->cut = 0;
		return 1;
	}
	if (d == BPF_CORE_READ(vm, mnt_root) || d == parent) {
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);

		if (mp == m) {
			w->cut = 0;
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = mp;
		w->vm = (struct vfsmount *)((void *)mp + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e || off >= CMDTRACE_CWD_MAX)
		return 1;
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(&e->cwd[off & (CMDTRACE_CWD_MAX - 1)], CMDTRACE_NAME_MAX, name);
	if (n <= 0)
		return 1;
	w->off = off + (__u32)n;
	w->d = parent;
	return 0;
}

/* The cwd of p into e as its components, leaf first, each NUL-terminated;
 * mounts crossed; cwd_cut when the walk ended before the root. */
static __always_inline void read_cwd(struct task_struct *p, struct cmdtrace_rec *e)
{
	struct fs_struct *fs = BPF_CORE_READ(p, fs);
	struct cwd_walk w = { .cut = 1 };

	w.d = BPF_CORE_READ(fs, pwd.dentry);
	w.root_d = BPF_CORE_READ(fs, root.dentry);
	w.vm = BPF_CORE_READ(fs, pwd.mnt);
	w.root_m = BPF_CORE_READ(fs, root.mnt);
	w.m = (struct mount *)((void *)w.vm - bpf_core_field_offset(struct mount, mnt));
	bpf_loop(CMDTRACE_CWD_DEPTH, cwd_step, &w, 0);
	e->cwd_len = w.off;
	e->cwd_cut = w.cut;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(cmdtrace_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), zero = 0;
	struct cmdtrace_owner *o = owner_of(p, tgid);
	struct cmdtrace_rec *e;
	unsigned long start, end;
	__u64 len, size;

	if (!o)
		return 0;
	o->exec_ns = bpf_ktime_get_ns();
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->kind = CMDTRACE_EV_EXEC;
	e->pid = tgid;
	e->tag = o->tag;
	e->ns = o->exec_ns;
	e->dur_ns = 0;
	e->code = 0;
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->uid = BPF_CORE_READ(p, cred, uid.val);
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	e->args_full = len > 0xffffffffUL ? 0xffffffffU : (__u32)len;
	if (len > CMDTRACE_ARGS_MAX)
		len = CMDTRACE_ARGS_MAX;
	/* The new image's stack holds argv: just written by execve, resident. */
	if (len && bpf_probe_read_user(e->args, len, (const void *)start) != 0)
		len = 0;
	e->args_len = (__u32)len;
	read_cwd(p, e);
	size = __builtin_offsetof(struct cmdtrace_rec, args) + len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, size, 0) != 0)
		count_lost(0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(cmdtrace_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), zero = 0;
	struct cmdtrace_owner *o;
	struct cmdtrace_rec *e;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0; /* other threads of the process live on */
	o = bpf_map_lookup_elem(&tracked, &tgid);
	if (!o)
		return 0;
	if (o->exec_ns) {
		e = bpf_map_lookup_elem(&scratch, &zero);
		if (e) {
			e->kind = CMDTRACE_EV_EXIT;
			e->pid = tgid;
			e->tag = o->tag;
			e->ns = bpf_ktime_get_ns();
			e->dur_ns = e->ns - o->exec_ns;
			e->code = BPF_CORE_READ(p, exit_code);
			e->args_len = e->args_full = e->cwd_len = e->cwd_cut = 0;
			if (bpf_ringbuf_output(&events, e, __builtin_offsetof(struct cmdtrace_rec, cwd), 0) != 0)
				count_lost(0);
		}
	}
	bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}
