/* cmdtrace_bpf: the eBPF source of the command tracer: loads
 * bpf/cmdtrace.bpf.c (libbpf skeleton, CO-RE), fills its maps of tracked
 * tgids and audit session ids, and turns ring buffer records into events.
 * Built only where the build found BTF (SESSREC_HAVE_BPF); elsewhere it
 * says so and the proc connector serves. Convention: 0 or -errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtrace_src.h"

#ifdef SESSREC_HAVE_BPF
#include <bpf/bpf.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "bpf/cmdtrace.h"
#include "cmdtrace.skel.h"

struct cmdtrace_bpf {
	struct cmdtrace_bpf_skel *skel;
	struct ring_buffer *rb;
	cmdtrace_report_fn fn; /* set while draining */
	void *userdata;
};

/* libbpf's own chatter stays out of the daemon's log. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* "/a/b/c" from the leaf-first components of r, NULL when the walk was cut. */
static const char *cwd_of(const struct cmdtrace_rec *r, char *out, size_t cap)
{
	const char *comp[CMDTRACE_CWD_DEPTH];
	size_t n = 0, at = 0, o = 0, len = r->cwd_len < sizeof(r->cwd) ? r->cwd_len : sizeof(r->cwd);

	if (r->cwd_cut)
		return NULL;
	while (at < len && n < CMDTRACE_CWD_DEPTH) {
		const char *nul = memchr(r->cwd + at, '\0', len - at);

		if (!nul)
			return NULL;
		comp[n++] = r->cwd + at;
		at = (size_t)(nul - r->cwd) + 1;
	}
	if (n == 0)
		return "/";
	while (n--) {
		int w = snprintf(out + o, cap - o, "/%s", comp[n]);

		if (w < 0 || (size_t)w >= cap - o)
			return NULL;
		o += (size_t)w;
	}
	return out;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct cmdtrace_bpf *b = ctx;
	const struct cmdtrace_rec *r = data;
	struct cmdtrace_event ev = { 0 };
	char cwd[CMDTRACE_CWD_MAX + CMDTRACE_NAME_MAX + CMDTRACE_CWD_DEPTH + 2];

	if (size < offsetof(struct cmdtrace_rec, cwd) || !b->fn)
		return 0;
	ev.tag = r->tag;
	ev.ns = (int64_t)r->ns;
	ev.pid = (pid_t)r->pid;
	if (r->kind == CMDTRACE_EV_EXIT) {
		ev.what = CMDTRACE_EXIT;
		ev.dur_ns = (int64_t)r->dur_ns;
		cmdtrace_status(&ev, r->code);
	} else {
		if (size < offsetof(struct cmdtrace_rec, args) ||
		    r->args_len > size - offsetof(struct cmdtrace_rec, args))
			return 0;
		ev.what = CMDTRACE_EXEC;
		ev.ppid = (pid_t)r->ppid;
		ev.uid = r->uid;
		ev.args = (const uint8_t *)r->args;
		ev.args_len = r->args_len;
		ev.args_cut = r->args_full > r->args_len;
		ev.cwd = cwd_of(r, cwd, sizeof(cwd));
		if (r->args_full > 0 && r->args_len == 0)
			ev.args = NULL; /* the read failed: unknown, not empty */
	}
	b->fn(b->userdata, &ev);
	return 0;
}

int cmdtrace_bpf_open(struct cmdtrace_bpf **out, char *why, size_t cap)
{
	struct cmdtrace_bpf *b = calloc(1, sizeof(*b));
	int r;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	libbpf_set_print(quiet);
	if (!(b->skel = cmdtrace_bpf_skel__open())) {
		r = -errno;
		snprintf(why, cap, "eBPF: cannot open the program: %s", strerror(-r));
		goto out;
	}
	if ((r = cmdtrace_bpf_skel__load(b->skel)) < 0) {
		snprintf(why, cap, "eBPF: cannot load the program (BTF, CAP_BPF, CAP_PERFMON?): %s", strerror(-r));
		goto out;
	}
	if ((r = cmdtrace_bpf_skel__attach(b->skel)) < 0) {
		snprintf(why, cap, "eBPF: cannot attach to sched_process_{fork,exec,exit}: %s", strerror(-r));
		goto out;
	}
	if (!(b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_record, b, NULL))) {
		r = -errno;
		snprintf(why, cap, "eBPF: cannot map the ring buffer: %s", strerror(-r));
		goto out;
	}
	*out = b;
	b = NULL;
	r = 0;
out:
	cmdtrace_bpf_close(b);
	return r;
}

void cmdtrace_bpf_close(struct cmdtrace_bpf *b)
{
	if (!b)
		return;
	ring_buffer__free(b->rb);
	cmdtrace_bpf_skel__destroy(b->skel);
	free(b);
}

int cmdtrace_bpf_fd(const struct cmdtrace_bpf *b)
{
	return ring_buffer__epoll_fd(b->rb);
}

void cmdtrace_bpf_drain(struct cmdtrace_bpf *b, cmdtrace_report_fn fn, void *userdata)
{
	b->fn = fn;
	b->userdata = userdata;
	(void)ring_buffer__consume(b->rb);
	b->fn = NULL;
}

int cmdtrace_bpf_track(struct cmdtrace_bpf *b, uint64_t tag, pid_t root, int64_t audit_session)
{
	struct cmdtrace_owner o = { .tag = tag };
	uint32_t key = (uint32_t)root;

	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.tracked), &key, &o, BPF_ANY) < 0)
		return -errno;
	if (audit_session >= 0) {
		key = (uint32_t)audit_session;
		if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.audit), &key, &o, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

/* Deletes every entry of map fd whose owner is tag (a walk: at session ends only). */
static void forget(int fd, uint64_t tag)
{
	uint32_t key, next, gone[256];
	struct cmdtrace_owner o;
	bool more = true;

	while (more) {
		size_t n = 0;
		int r = bpf_map_get_next_key(fd, NULL, &next);

		while (r == 0 && n < sizeof(gone) / sizeof(gone[0])) {
			key = next;
			if (bpf_map_lookup_elem(fd, &key, &o) == 0 && o.tag == tag)
				gone[n++] = key;
			r = bpf_map_get_next_key(fd, &key, &next);
		}
		more = r == 0;
		for (size_t i = 0; i < n; i++)
			bpf_map_delete_elem(fd, &gone[i]);
		if (n == 0)
			break;
	}
}

void cmdtrace_bpf_untrack(struct cmdtrace_bpf *b, uint64_t tag)
{
	forget(bpf_map__fd(b->skel->maps.audit), tag);
	forget(bpf_map__fd(b->skel->maps.tracked), tag);
}

uint64_t cmdtrace_bpf_owner(struct cmdtrace_bpf *b, pid_t pid)
{
	struct cmdtrace_owner o;
	uint32_t key = (uint32_t)pid;

	return bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.tracked), &key, &o) == 0 ? o.tag : 0;
}

uint64_t cmdtrace_bpf_lost(const struct cmdtrace_bpf *b)
{
	uint64_t n = 0;
	uint32_t key = 0;

	(void)bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.lost), &key, &n);
	return n;
}

#else /* no BTF at build time */

int cmdtrace_bpf_open(struct cmdtrace_bpf **out, char *why, size_t cap)
{
	*out = NULL;
	snprintf(why, cap, "eBPF: not built (no /sys/kernel/btf/vmlinux at build time)");
	return -ENOTSUP;
}

void cmdtrace_bpf_close(struct cmdtrace_bpf *b)
{
}

int cmdtrace_bpf_fd(const struct cmdtrace_bpf *b)
{
	return -1;
}

void cmdtrace_bpf_drain(struct cmdtrace_bpf *b, cmdtrace_report_fn fn, void *userdata)
{
}

int cmdtrace_bpf_track(struct cmdtrace_bpf *b, uint64_t tag, pid_t root, int64_t audit_session)
{
	return -ENOTSUP;
}

void cmdtrace_bpf_untrack(struct cmdtrace_bpf *b, uint64_t tag)
{
}

uint64_t cmdtrace_bpf_owner(struct cmdtrace_bpf *b, pid_t pid)
{
	return 0;
}

uint64_t cmdtrace_bpf_lost(const struct cmdtrace_bpf *b)
{
	return 0;
}
#endif
