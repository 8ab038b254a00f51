/* authwatch: authentications to events and the auth file, the pairing of
 * PAM's and sshd's reports of one attempt (see authwatch.h). Convention:
 * 0 or -errno. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "authrec.h"
#include "authwatch.h"
#include "authwatch_file.h"
#include "authwatch_journal.h"
#include "daemon.h"
#include "emit.h"
#include "log.h"
#include "monoclock.h"
#include "sshdlog.h"

#define AUTHWATCH_PENDING 64 /* PAM failures waiting for sshd's line */
#define AUTHWATCH_CONNS 512  /* sshd connections remembered (address, port) */
#define AUTHWATCH_CONN_MS (10 * 60 * 1000)

struct pending {
	bool used;
	int64_t deadline_ms;
	int64_t sec;
	long usec, pid;
	char user[512], rhost[64], service[64], error[128];
};

struct conn_seen {
	char ip[64];
	int port;
	bool reported; /* an event about this connection was emitted */
	int64_t ms;
};

struct authwatch {
	struct authwatch_file file;
	struct authwatch_journal *journal;
	struct pending pend[AUTHWATCH_PENDING];
	struct conn_seen conns[AUTHWATCH_CONNS];
	unsigned next_conn;
	int timer_fd;
	struct loop_io timer_io;
	bool armed;
};

static void emit_auth(struct daemon *d, const struct authrec *a)
{
	struct authwatch *w = d->authwatch;
	char line[AUTHREC_LINE_MAX], port[24], pid[24];
	struct event e;
	int n;

	authrec_event(&e, a, port, pid);
	emit_event(d, &e);
	if (w && d->cfg.auth_log && (n = authrec_format(line, sizeof(line), a)) > 0)
		(void)authwatch_file_put(d, &w->file, a->sec, line, (size_t)n);
}

static void arm(struct authwatch *w, bool on)
{
	if (on != w->armed && w->timer_fd >= 0 && loop_timer_arm(w->timer_fd, on ? 500 : 0, on ? 500 : 0) == 0)
		w->armed = on;
}

/* A PAM failure alone: its pair never came (or is not awaited). */
static void emit_pam(struct daemon *d, const struct pending *p)
{
	struct authrec a = {
		.sec = p->sec,
		.usec = p->usec,
		.user = p->user,
		.src_ip = p->rhost[0] ? p->rhost : NULL,
		.service = p->service[0] ? p->service : NULL,
		.method = "pam",
		.reason = p->error[0] ? p->error : "auth_err",
		.source = "pam",
		.pid = p->pid,
	};

	emit_auth(d, &a);
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

void authwatch_pam_failure(struct daemon *d, const struct authwatch_pam *f)
{
	struct authwatch *w = d->authwatch;
	struct pending p = { .used = true, .pid = f->pid };
	struct timeval tv;

	gettimeofday(&tv, NULL);
	p.sec = tv.tv_sec;
	p.usec = tv.tv_usec;
	copy(p.user, sizeof(p.user), f->user);
	copy(p.rhost, sizeof(p.rhost), f->rhost);
	copy(p.service, sizeof(p.service), f->service);
	copy(p.error, sizeof(p.error), f->error);
	/* sshd logs this attempt itself right after: wait for that line. */
	if (w && w->journal && strcmp(p.service, "sshd") == 0) {
		for (size_t i = 0; i < AUTHWATCH_PENDING; i++)
			if (!w->pend[i].used) {
				p.deadline_ms = mono_ms() + AUTHWATCH_PAIR_MS;
				w->pend[i] = p;
				arm(w, true);
				return;
			}
	}
	emit_pam(d, &p);
}

/* The PAM failure of user from ip that waits for this sshd line, or NULL. */
static struct pending *paired(struct authwatch *w, const struct sshdlog *l)
{
	struct pending *best = NULL;

	for (size_t i = 0; i < AUTHWATCH_PENDING; i++) {
		struct pending *p = &w->pend[i];

		if (p->used && strcmp(p->user, l->user) == 0 && strcmp(p->rhost, l->src_ip) == 0 &&
		    (!best || p->deadline_ms < best->deadline_ms))
			best = p;
	}
	return best;
}

static struct conn_seen *conn_of(struct authwatch *w, const struct sshdlog *l, int64_t now)
{
	struct conn_seen *c;

	for (size_t i = 0; i < AUTHWATCH_CONNS; i++) {
		c = &w->conns[i];
		if (c->port == l->src_port && strcmp(c->ip, l->src_ip) == 0 && now - c->ms < AUTHWATCH_CONN_MS) {
			c->ms = now;
			return c;
		}
	}
	c = &w->conns[w->next_conn];
	w->next_conn = (w->next_conn + 1) % AUTHWATCH_CONNS;
	*c = (struct conn_seen){ .port = l->src_port, .ms = now };
	copy(c->ip, sizeof(c->ip), l->src_ip);
	return c;
}

static const char *failure_reason(const struct sshdlog *l)
{
	if (l->invalid_user)
		return "invalid_user";
	if (l->kind == SSHDLOG_CLOSED)
		return "disconnected";
	if (strcmp(l->method, "publickey") == 0 || strcmp(l->method, "hostbased") == 0)
		return "key_rejected";
	if (strcmp(l->method, "password") == 0)
		return "bad_password";
	return "failed";
}

void authwatch_sshd_line(struct daemon *d, const char *msg, size_t n, long pid, int64_t usec)
{
	struct authwatch *w = d->authwatch;
	struct sshdlog l;
	struct conn_seen *c;
	struct pending *p = NULL;
	struct authrec a;

	if (!w || sshdlog_parse(msg, n, &l) < 0 || l.kind == SSHDLOG_INVALID)
		return; /* "Invalid user" is followed by the attempt's own line */
	c = conn_of(w, &l, mono_ms());
	/* "none" is the client asking which methods there are, not an attempt;
	 * a disconnect counts only when nothing about the connection did. */
	if ((l.kind == SSHDLOG_FAILED && strcmp(l.method, "none") == 0) || (l.kind == SSHDLOG_CLOSED && c->reported))
		return;
	c->reported = true;
	a = (struct authrec){
		.ok = l.kind == SSHDLOG_ACCEPTED,
		.sec = usec / 1000000,
		.usec = (long)(usec % 1000000),
		.user = l.user,
		.src_ip = l.src_ip,
		.src_port = l.src_port,
		.service = "sshd",
		.method = l.kind == SSHDLOG_CLOSED ? "none" : l.method,
		.key_type = l.key_type[0] ? l.key_type : NULL,
		.key_fp = l.key_fp[0] ? l.key_fp : NULL,
		.source = "journal",
		.pid = pid,
	};
	if (!a.ok)
		a.reason = failure_reason(&l);
	if (l.kind == SSHDLOG_FAILED &&
	    (strcmp(l.method, "password") == 0 || strncmp(l.method, "keyboard-interactive", 20) == 0) &&
	    (p = paired(w, &l))) {
		a.source = "pam+journal";
		p->used = false;
	}
	emit_auth(d, &a);
}

static void flush_pending(struct daemon *d, bool all)
{
	struct authwatch *w = d->authwatch;
	int64_t now = mono_ms();
	bool left = false;

	for (size_t i = 0; i < AUTHWATCH_PENDING; i++) {
		struct pending *p = &w->pend[i];

		if (!p->used)
			continue;
		if (all || now >= p->deadline_ms) {
			p->used = false;
			emit_pam(d, p);
		} else {
			left = true;
		}
	}
	arm(w, left);
}

static void timer_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;

	(void)ev;
	loop_timer_ack(d->authwatch->timer_fd);
	flush_pending(d, false);
}

int authwatch_start(struct daemon *d)
{
	struct authwatch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	authwatch_file_init(&w->file);
	loop_io_init(&w->timer_io, timer_cb, d);
	if ((w->timer_fd = loop_timerfd()) < 0 || loop_set(&d->loop, &w->timer_io, w->timer_fd, EPOLLIN) < 0) {
		log_line("authentications: cannot set up a timer; PAM failures are reported at once");
		if (w->timer_fd >= 0)
			close(w->timer_fd);
		w->timer_fd = -1;
	}
	d->authwatch = w;
	if (d->cfg.sshd_journal && w->timer_fd >= 0)
		w->journal = authwatch_journal_start(d, authwatch_sshd_line);
	return 0;
}

void authwatch_stop(struct daemon *d)
{
	struct authwatch *w = d->authwatch;

	if (!w)
		return;
	authwatch_journal_stop(d, w->journal);
	w->journal = NULL;
	flush_pending(d, true);
	authwatch_file_close(d, &w->file);
	loop_del(&d->loop, &w->timer_io);
	if (w->timer_fd >= 0)
		close(w->timer_fd);
	free(w);
	d->authwatch = NULL;
}
