/* kdeny_owner: the attribution of a denied process to a session (see
 * kdeny_owner.h). Everything is read from /proc and the session's inner
 * pty; nothing the process says about itself is trusted. Convention:
 * lookups return NULL when nothing matches; readers 0 or -errno. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "daemon.h"
#include "io.h"
#include "auth.h"
#include "cmdtrace_rec.h"
#include "kdeny_owner.h"
#include "session.h"

#define KDENY_ANCESTRY_MAX 64

static void read_link(long pid, const char *what, char *out, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, what);
	n = readlink(path, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* The cgroup v2 path of pid ("/user.slice/..."), "" when unknown. */
static void read_cgroup(long pid, char *out, size_t cap)
{
	char path[64], buf[1024];
	ssize_t n;
	const char *p;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	n = io_read_file(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (!(p = strstr(buf, "0::")))
		return;
	p += 3;
	n = (ssize_t)strcspn(p, "\n");
	if ((size_t)n < cap) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
	}
}

void kdeny_owner_init(struct kdeny_owner *o)
{
	memset(o, 0, sizeof(*o));
	read_link(getpid(), "ns/pid", o->pidns, sizeof(o->pidns));
	read_cgroup(getpid(), o->cgroup, sizeof(o->cgroup));
}

static bool live(const struct session *s)
{
	return (session_phase_relaying(s->phase) || s->phase == SESSION_COMMAND) && s->rec.file;
}

/* The session leader on the inner pty of s (its shell), 0 when none. */
static long leader(const struct session *s)
{
	pid_t sid = 0;

	if (s->relay.master_fd < 0 || ioctl(s->relay.master_fd, TIOCGSID, &sid) < 0)
		return 0;
	return sid;
}

static void remember(struct kdeny_owner *o, long pid, uint64_t serial, int64_t now_ms)
{
	for (unsigned i = 0; i < KDENY_OWNER_PIDS; i++)
		if (o->pids[i].serial && o->pids[i].pid == pid) {
			o->pids[i].serial = serial;
			o->pids[i].seen_ms = now_ms;
			return;
		}
	o->pids[o->next].pid = pid;
	o->pids[o->next].serial = serial;
	o->pids[o->next].seen_ms = now_ms;
	o->next = (o->next + 1) % KDENY_OWNER_PIDS;
}

static struct session *remembered(struct daemon *d, struct kdeny_owner *o, long pid, int64_t now_ms)
{
	for (unsigned i = 0; i < KDENY_OWNER_PIDS; i++)
		if (o->pids[i].serial && o->pids[i].pid == pid && now_ms - o->pids[i].seen_ms <= KDENY_OWNER_TTL_MS) {
			struct session *s = session_by_serial(d, o->pids[i].serial);

			return s && live(s) ? s : NULL;
		}
	return NULL;
}

/* By the process tree: the process is in the terminal session of the
 * session's shell, or descends from the shell or from the session's
 * opener (sessrecctl record, or sshd's process for this login). */
static struct session *by_tree(struct daemon *d, long pid)
{
	long chain[KDENY_ANCESTRY_MAX];
	pid_t ppid, sid;
	size_t n = 0;
	long tsid = -1;

	for (long p = pid; p > 1 && n < KDENY_ANCESTRY_MAX; p = ppid) {
		if (auth_proc_place((pid_t)p, &ppid, &sid) < 0)
			break;
		if (n == 0)
			tsid = sid;
		chain[n++] = p;
	}
	if (n == 0)
		return NULL;
	for (struct session *s = d->sessions; s; s = s->next) {
		long l;

		if (!live(s))
			continue;
		l = leader(s);
		if (l > 0 && tsid == l)
			return s;
		for (size_t i = 0; i < n; i++)
			if ((l > 0 && chain[i] == l) || (s->st.pid > 1 && chain[i] == s->st.pid))
				return s;
	}
	return NULL;
}

/* By the pid namespace or cgroup of the session's shell, when that is the
 * session's own and not the daemon's (a container, a logind scope). */
static struct session *by_scope(struct daemon *d, struct kdeny_owner *o, long pid)
{
	char ns[64], cg[512], sns[64], scg[512];

	read_link(pid, "ns/pid", ns, sizeof(ns));
	read_cgroup(pid, cg, sizeof(cg));
	if (!ns[0] && !cg[0])
		return NULL;
	for (struct session *s = d->sessions; s; s = s->next) {
		long l;
		size_t cl;

		if (!live(s) || (l = leader(s)) <= 0)
			continue;
		read_link(l, "ns/pid", sns, sizeof(sns));
		if (sns[0] && strcmp(sns, o->pidns) != 0 && strcmp(sns, ns) == 0)
			return s;
		read_cgroup(l, scg, sizeof(scg));
		cl = strlen(scg);
		if (cl > 1 && strcmp(scg, o->cgroup) != 0 && strncmp(cg, scg, cl) == 0 &&
		    (cg[cl] == '\0' || cg[cl] == '/'))
			return s;
	}
	return NULL;
}

struct session *kdeny_owner(struct daemon *d, struct kdeny_owner *o, long pid, int64_t ses, int64_t now_ms)
{
	struct session *s = NULL;
	unsigned same_ses = 0;

	if (pid <= 1)
		return NULL;
	if ((s = remembered(d, o, pid, now_ms)))
		return s;
	if (ses >= 0 && ses != 4294967295LL)
		for (struct session *t = d->sessions; t; t = t->next)
			if (live(t) && t->st.audit_session == ses && same_ses++ == 0)
				s = t;
	/* A session recorded inside another (sessrecctl record in an ssh
	 * login) shares its audit session: the process tree tells them apart. */
	if (!s || same_ses > 1) {
		/* The command tracer's view first: it saw every fork of the
		 * session's tree, even of a process gone by now; /proc else. */
		const char *sid = cmdtrace_sid_of_pid(d, (pid_t)pid);
		struct session *t = sid ? session_by_sid(d, sid) : NULL;

		if (!t)
			t = by_tree(d, pid);

		s = t ? t : s;
	}
	if (!s)
		s = by_scope(d, o, pid);
	if (s)
		remember(o, pid, s->serial, now_ms);
	return s;
}
