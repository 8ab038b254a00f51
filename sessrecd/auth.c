/* auth: /proc readers and the attach checks. Convention: 0 or -errno. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "auth.h"
#include "io.h"
#include "state.h"

#define AUTH_MAX_DEPTH 4096 /* process tree walk: more is a loop, not a tree */

dev_t auth_tty_nr_dev(unsigned long tty_nr)
{
	unsigned maj, min;

	tty_nr &= 0xffffffffUL;
	maj = (unsigned)(tty_nr >> 8) & 0xfff;
	min = (unsigned)(tty_nr & 0xff) | ((unsigned)(tty_nr >> 12) & 0xfff00);
	return tty_nr ? makedev(maj, min) : 0;
}

/* Parses a decimal number (optionally negative) ending at a space or the end. */
static int parse_num(const char *p, const char **end, long long *out)
{
	char *e;
	long long v;

	if (!(*p == '-' || isdigit((unsigned char)*p)))
		return -EINVAL;
	errno = 0;
	v = strtoll(p, &e, 10);
	if (errno || e == p)
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

/* Field n (4..52: numbers only) of the text of /proc/PID/stat; the command
 * name (field 2) may hold spaces and parentheses, so fields are counted
 * after the last ')'. */
static int parse_stat_field(const char *text, int n, long long *out)
{
	const char *p = strrchr(text, ')');
	long long v;

	if (!p)
		return -EINVAL;
	p++;
	/* After "comm)": state ppid pgrp session tty_nr ... */
	for (int field = 3; field <= n; field++) {
		if (*p != ' ')
			return -EINVAL;
		p++;
		if (field == 3) {
			if (!*p || *p == ' ')
				return -EINVAL;
			p++;
			continue;
		}
		if (parse_num(p, &p, &v) < 0)
			return -EINVAL;
		if (field == n) {
			if (v < INT32_MIN || v > INT32_MAX || (*p && *p != ' ' && *p != '\n'))
				return -EINVAL;
			*out = v;
			return 0;
		}
	}
	return -EINVAL;
}

int auth_parse_stat_tty(const char *text, unsigned long *tty_nr)
{
	long long v;
	int r = parse_stat_field(text, 7, &v);

	if (r == 0)
		*tty_nr = (unsigned long)(uint32_t)(int32_t)v;
	return r;
}

int auth_parse_stat_session(const char *text, pid_t *sid)
{
	long long v;
	int r = parse_stat_field(text, 6, &v);

	if (r == 0 && v < 0)
		r = -EINVAL;
	if (r == 0)
		*sid = (pid_t)v;
	return r;
}

int auth_parse_status_ppid(const char *text, pid_t *ppid)
{
	const char *p = text;
	long long v;

	for (;;) {
		if (strncmp(p, "PPid:", 5) == 0) {
			p += 5;
			while (*p == ' ' || *p == '\t')
				p++;
			if (parse_num(p, &p, &v) < 0 || v < 0 || v > INT32_MAX || (*p && *p != '\n'))
				return -EINVAL;
			*ppid = (pid_t)v;
			return 0;
		}
		p = strchr(p, '\n');
		if (!p)
			return -EINVAL;
		p++;
	}
}

int auth_parse_sessionid(const char *text, int64_t *id)
{
	const char *end;
	long long v;

	if (parse_num(text, &end, &v) < 0 || (*end && *end != '\n') || (end[0] && end[1]))
		return -EINVAL;
	if (v < -1 || v > UINT32_MAX)
		return -EINVAL;
	*id = v;
	return 0;
}

bool auth_audit_set(int64_t id)
{
	return id >= 0 && id != 4294967295LL;
}

bool auth_token_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = 0;

	/* Tokens have one fixed length; only their content is secret. */
	if (na != nb || na == 0)
		return false;
	for (size_t i = 0; i < na; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static int read_proc(pid_t pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	n = io_read_file(path, buf, cap);
	return n < 0 ? (int)n : 0;
}

int auth_proc_ctty(pid_t pid, dev_t *dev, pid_t *session)
{
	char buf[1024];
	unsigned long nr;
	int r;

	if ((r = read_proc(pid, "stat", buf, sizeof(buf))) < 0 || (r = auth_parse_stat_tty(buf, &nr)) < 0 ||
	    (session && (r = auth_parse_stat_session(buf, session)) < 0))
		return r;
	*dev = auth_tty_nr_dev(nr);
	return 0;
}

int auth_proc_place(pid_t pid, pid_t *ppid, pid_t *session)
{
	char buf[1024];
	long long v;
	int r;

	if ((r = read_proc(pid, "stat", buf, sizeof(buf))) < 0 || (r = parse_stat_field(buf, 4, &v)) < 0 ||
	    (r = auth_parse_stat_session(buf, session)) < 0)
		return r;
	*ppid = (pid_t)v;
	return 0;
}

int auth_proc_ppid(pid_t pid, pid_t *ppid)
{
	char buf[4096];
	int r;

	if ((r = read_proc(pid, "status", buf, sizeof(buf))) < 0)
		return r;
	return auth_parse_status_ppid(buf, ppid);
}

int auth_proc_sessionid(pid_t pid, int64_t *id)
{
	char buf[32];
	int r;

	if ((r = read_proc(pid, "sessionid", buf, sizeof(buf))) < 0)
		return r;
	return auth_parse_sessionid(buf, id);
}

int auth_descends(pid_t pid, pid_t ancestor)
{
	for (int depth = 0; depth < AUTH_MAX_DEPTH; depth++) {
		pid_t pp;
		int r;

		if (pid == ancestor)
			return 1;
		if (pid <= 1)
			return 0;
		if ((r = auth_proc_ppid(pid, &pp)) < 0)
			return r;
		pid = pp;
	}
	return 0;
}

__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -EPERM;
}

/* The one fd of a tty attach: a terminal that is the peer's controlling
 * tty (the daemon makes the inner pty itself). */
static int check_fds(const struct ucred *peer, const int *fds, bool *leader, char *why, size_t cap)
{
	struct stat st;
	pid_t session;
	dev_t ctty;
	int r;

	if (!isatty(fds[0]) || fstat(fds[0], &st) < 0 || !S_ISCHR(st.st_mode))
		return refuse(why, cap, "the first fd is not a terminal");
	r = auth_proc_ctty(peer->pid, &ctty, &session);
	if (r < 0)
		return refuse(why, cap, "cannot read the controlling terminal of pid %ld: %s", (long)peer->pid,
			      strerror(-r));
	if (ctty == 0)
		return refuse(why, cap, "the attaching process has no controlling terminal");
	if (ctty != st.st_rdev)
		return refuse(why, cap, "the terminal sent is not the controlling terminal of the attaching process");
	*leader = session == peer->pid;
	return 0;
}

int auth_attach_check(const struct session_state *st, const struct ucred *peer, const int *fds, size_t nfds,
		      bool *leader, char *why, size_t cap)
{
	int64_t audit;
	int r;

	*leader = false;
	if ((int64_t)peer->uid != st->uid)
		return refuse(why, cap, "uid %u may not attach to a session of uid %lld", (unsigned)peer->uid,
			      (long long)st->uid);
	if (nfds == 1 && (r = check_fds(peer, fds, leader, why, cap)) < 0)
		return r;
	r = auth_descends(peer->pid, (pid_t)st->pid);
	if (r < 0)
		return refuse(why, cap, "cannot read the process tree of pid %ld: %s", (long)peer->pid, strerror(-r));
	if (r == 0)
		return refuse(why, cap, "pid %ld is not in the process tree of the session (pid %lld)", (long)peer->pid,
			      (long long)st->pid);
	if (auth_audit_set(st->audit_session)) {
		r = auth_proc_sessionid(peer->pid, &audit);
		if (r < 0)
			return refuse(why, cap, "cannot read the audit session of pid %ld: %s", (long)peer->pid,
				      strerror(-r));
		if (audit != st->audit_session)
			return refuse(why, cap, "audit session %lld is not the session's (%lld)", (long long)audit,
				      (long long)st->audit_session);
	}
	return 0;
}
