/* cmdtrace_proc: the proc connector source of the command tracer, where
 * eBPF cannot load: fork/exec/exit from NETLINK_CONNECTOR (cmdtrace_cn.c),
 * tracked tgids in a table here, argv and cwd read from /proc at the exec
 * event. That read races the process: an argv it could not read is
 * unknown (NULL, "argv":null in the shard), never a guess.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "cmdtrace_cn.h"
#include "cmdtrace_src.h"
#include "io.h"

#define PIDS_CAP 65536 /* tracked processes (a power of two) */
#define AUDITS_CAP 4096
#define ARGS_MAX 4096

struct slot {
	pid_t tgid; /* 0: free */
	uint64_t tag;
	uint64_t exec_ns;
};

struct audit_owner {
	uint32_t ses;
	uint64_t tag;
};

struct cmdtrace_proc {
	int fd;
	struct slot *pids; /* open addressing, linear probing, backward-shift deletion */
	size_t npids;
	struct audit_owner audits[AUDITS_CAP];
	size_t naudits;
	uint64_t lost;
	cmdtrace_report_fn fn; /* set while draining */
	void *userdata;
};

static size_t slot_of(pid_t tgid)
{
	return ((uint32_t)tgid * 2654435761u) & (PIDS_CAP - 1);
}

static struct slot *pid_find(struct cmdtrace_proc *p, pid_t tgid)
{
	for (size_t i = slot_of(tgid), n = 0; n < PIDS_CAP; i = (i + 1) & (PIDS_CAP - 1), n++) {
		if (p->pids[i].tgid == tgid)
			return &p->pids[i];
		if (p->pids[i].tgid == 0)
			return NULL;
	}
	return NULL;
}

static int pid_add(struct cmdtrace_proc *p, pid_t tgid, uint64_t tag)
{
	size_t i;

	if (tgid <= 0)
		return -EINVAL;
	if (p->npids >= PIDS_CAP - PIDS_CAP / 8)
		return -ENOSPC; /* keep probes short */
	for (i = slot_of(tgid); p->pids[i].tgid && p->pids[i].tgid != tgid; i = (i + 1) & (PIDS_CAP - 1))
		;
	if (!p->pids[i].tgid)
		p->npids++;
	p->pids[i] = (struct slot){ .tgid = tgid, .tag = tag };
	return 0;
}

static void pid_remove(struct cmdtrace_proc *p, struct slot *s)
{
	size_t i = (size_t)(s - p->pids), j = i;

	p->pids[i].tgid = 0;
	p->npids--;
	/* Backward shift: move later entries of the run into the hole when
	 * their home is not between the hole and them. */
	for (;;) {
		size_t home;

		j = (j + 1) & (PIDS_CAP - 1);
		if (!p->pids[j].tgid)
			return;
		home = slot_of(p->pids[j].tgid);
		if (((j - home) & (PIDS_CAP - 1)) >= ((j - i) & (PIDS_CAP - 1))) {
			p->pids[i] = p->pids[j];
			p->pids[j].tgid = 0;
			i = j;
		}
	}
}

/* The tag of tgid's audit session when the daemon named it; 0 otherwise. */
static uint64_t audit_owner(struct cmdtrace_proc *p, pid_t tgid)
{
	int64_t ses;

	if (!p->naudits || auth_proc_sessionid(tgid, &ses) < 0)
		return 0;
	for (size_t i = 0; i < p->naudits; i++)
		if ((int64_t)p->audits[i].ses == ses)
			return p->audits[i].tag;
	return 0;
}

/* ppid and real uid from /proc/PID/status; false when gone. */
static bool read_status(pid_t tgid, pid_t *ppid, long long *uid)
{
	char path[48], buf[4096], *l;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tgid);
	if ((n = io_read_file(path, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	if ((l = strstr(buf, "\nPPid:")))
		*ppid = (pid_t)strtol(l + 6, NULL, 10);
	if ((l = strstr(buf, "\nUid:")))
		*uid = strtoll(l + 5, NULL, 10);
	return true;
}

/* Up to cap bytes of path; *more: the file had more. The length or -errno. */
static ssize_t read_head(const char *path, uint8_t *buf, size_t cap, bool *more)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1, got = 0;
	uint8_t extra;

	*more = false;
	if (fd < 0)
		return -errno;
	while ((size_t)got < cap && (n = read(fd, buf + got, cap - (size_t)got)) > 0)
		got += n;
	if (n >= 0 && (size_t)got == cap)
		*more = read(fd, &extra, 1) == 1;
	close(fd);
	return n < 0 ? -EIO : got;
}

static void on_exec(struct cmdtrace_proc *p, const struct cmdtrace_cn_event *cn, struct slot *s)
{
	struct cmdtrace_event ev = {
		.what = CMDTRACE_EXEC, .tag = s->tag, .ns = (int64_t)cn->ns, .pid = cn->tgid, .uid = -1
	};
	char path[48], cwd[4096];
	uint8_t args[ARGS_MAX];
	ssize_t n;
	bool alive, more = false;

	s->exec_ns = cn->ns;
	alive = read_status(cn->tgid, &ev.ppid, &ev.uid);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)cn->tgid);
	n = alive ? read_head(path, args, sizeof(args), &more) : -ESRCH;
	/* Empty: a zombie or a kernel thread; neither is the argv it ran. */
	if (n > 0) {
		ev.args = args;
		ev.args_len = (size_t)n;
		ev.args_cut = more;
	}
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)cn->tgid);
	n = alive ? readlink(path, cwd, sizeof(cwd) - 1) : -1;
	if (n > 0) {
		cwd[n] = '\0';
		ev.cwd = cwd;
	}
	p->fn(p->userdata, &ev);
}

static void on_event(void *userdata, const struct cmdtrace_cn_event *cn)
{
	struct cmdtrace_proc *p = userdata;
	struct slot *s = pid_find(p, cn->tgid), *parent;
	uint64_t tag;

	switch (cn->what) {
	case CMDTRACE_CN_FORK:
		parent = pid_find(p, cn->ptgid);
		tag = parent ? parent->tag : audit_owner(p, cn->tgid);
		if (tag && pid_add(p, cn->tgid, tag) < 0)
			p->lost++;
		break;
	case CMDTRACE_CN_EXEC:
		if (!s && (tag = audit_owner(p, cn->tgid)) != 0 && pid_add(p, cn->tgid, tag) == 0)
			s = pid_find(p, cn->tgid);
		if (s)
			on_exec(p, cn, s);
		break;
	case CMDTRACE_CN_EXIT:
		if (!s)
			break;
		if (s->exec_ns) {
			struct cmdtrace_event ev = { .what = CMDTRACE_EXIT,
						     .tag = s->tag,
						     .ns = (int64_t)cn->ns,
						     .pid = cn->tgid,
						     .dur_ns = (int64_t)(cn->ns - s->exec_ns) };

			cmdtrace_status(&ev, cn->status);
			p->fn(p->userdata, &ev);
		}
		pid_remove(p, s);
		break;
	}
}

int cmdtrace_proc_open(struct cmdtrace_proc **out, char *why, size_t cap)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	struct cmdtrace_proc *p = calloc(1, sizeof(*p));
	char req[64];
	int r, len, size = 4 << 20;

	*out = NULL;
	if (p)
		p->fd = -1;
	if (!p || !(p->pids = calloc(PIDS_CAP, sizeof(*p->pids)))) {
		r = -ENOMEM;
		snprintf(why, cap, "proc connector: out of memory");
		goto out;
	}
	p->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		snprintf(why, cap, "proc connector: cannot open NETLINK_CONNECTOR: %s", strerror(-r));
		goto out;
	}
	/* A burst of forks must not overflow it (SO_RCVBUFFORCE needs CAP_NET_ADMIN). */
	if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	len = cmdtrace_cn_request(req, sizeof(req), 1);
	if (len < 0 || send(p->fd, req, (size_t)len, 0) != len) {
		r = len < 0 ? len : -errno;
		snprintf(why, cap, "proc connector: cannot subscribe: %s", strerror(-r));
		goto out;
	}
	*out = p;
	p = NULL;
	r = 0;
out:
	cmdtrace_proc_close(p);
	return r;
}

void cmdtrace_proc_close(struct cmdtrace_proc *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	free(p->pids);
	free(p);
}

int cmdtrace_proc_fd(const struct cmdtrace_proc *p)
{
	return p->fd;
}

void cmdtrace_proc_drain(struct cmdtrace_proc *p, cmdtrace_report_fn fn, void *userdata)
{
	uint8_t buf[16384];

	p->fn = fn;
	p->userdata = userdata;
	for (;;) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			p->lost++; /* the socket overflowed: some events are gone */
			continue;
		}
		if (n <= 0)
			break;
		(void)cmdtrace_cn_parse(buf, (size_t)n, on_event, p);
	}
	p->fn = NULL;
}

int cmdtrace_proc_track(struct cmdtrace_proc *p, uint64_t tag, pid_t root, int64_t audit_session)
{
	int r = pid_add(p, root, tag);

	if (r < 0)
		return r;
	if (audit_session >= 0) {
		if (p->naudits >= AUDITS_CAP)
			return -ENOSPC;
		p->audits[p->naudits++] = (struct audit_owner){ .ses = (uint32_t)audit_session, .tag = tag };
	}
	return 0;
}

void cmdtrace_proc_untrack(struct cmdtrace_proc *p, uint64_t tag)
{
	for (size_t i = 0; i < p->naudits;)
		if (p->audits[i].tag == tag)
			p->audits[i] = p->audits[--p->naudits];
		else
			i++;
	/* A walk of the table (at session ends only); a removal shifts a
	 * later entry into i, so i is looked at again. */
	for (size_t i = 0; i < PIDS_CAP && p->npids;) {
		if (p->pids[i].tgid && p->pids[i].tag == tag)
			pid_remove(p, &p->pids[i]);
		else
			i++;
	}
}

uint64_t cmdtrace_proc_owner(struct cmdtrace_proc *p, pid_t pid)
{
	struct slot *s = pid_find(p, pid);

	return s ? s->tag : 0;
}

uint64_t cmdtrace_proc_lost(const struct cmdtrace_proc *p)
{
	return p->lost;
}
