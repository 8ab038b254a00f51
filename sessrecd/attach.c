/* attach: the attach op. The token names the session and is spent at once;
 * auth.c judges the peer; then the session relays (a tty), notes a non-tty
 * command, or, in dry-run mode, only says yes. Convention: handlers reply
 * themselves. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "daemon.h"
#include "emit.h"
#include "handoff.h"
#include "log.h"
#include "notify.h"
#include "ops.h"
#include "recorder.h"
#include "relay.h"
#include "server.h"
#include "session.h"

void ops_refuse_attach(struct daemon *d, struct conn *c, const struct session *s, const char *why)
{
	struct event e = { .type = EVENT_ATTACH_REFUSED };
	char uid[24], pid[24];

	snprintf(uid, sizeof(uid), "%u", (unsigned)c->cred.uid);
	snprintf(pid, sizeof(pid), "%ld", (long)c->cred.pid);
	if (s)
		event_add(&e, "sid", s->st.sid);
	event_add(&e, "uid", uid);
	event_add(&e, "pid", pid);
	event_add(&e, "reason", why);
	emit_event(d, &e);
	server_reply_error(d, c, why);
}

static void reply_attached(struct daemon *d, struct conn *c, const struct session *s, bool dry_run)
{
	struct json_object *o = proto_reply_ok();

	if (o) {
		json_object_object_add(o, "sid", json_object_new_string(s->st.sid));
		if (dry_run)
			json_object_object_add(o, "dry_run", json_object_new_boolean(1));
	}
	server_reply(d, c, o, false);
}

static void emit_started(struct daemon *d, const struct session *s)
{
	struct event e = { .type = EVENT_SESSION_STARTED };
	char uid[24];

	session_event_base(s, &e, uid);
	event_add(&e, "tty", s->st.tty[0] ? s->st.tty : "-");
	if (s->st.dry_run)
		event_add(&e, "dry_run", "true");
	else
		event_add(&e, "shard", s->st.shard);
	emit_event(d, &e);
}

static void emit_command(struct daemon *d, const struct session *s)
{
	struct event e = { .type = EVENT_SESSION_COMMAND };
	char uid[24];

	session_event_base(s, &e, uid);
	event_add(&e, "cmd", s->st.cmd);
	emit_event(d, &e);
}

static void mark_start(struct session *s)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	s->st.start_sec = rt.tv_sec;
	s->st.start_usec = rt.tv_nsec / 1000;
	s->st.start_mono_ns = (int64_t)mono.tv_sec * 1000000000LL + mono.tv_nsec;
}

/* Clipped copy of an optional, untrusted string (TERM, SHELL, cmd). */
static void copy_clipped(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void attach_command(struct daemon *d, struct conn *c, struct session *s, const char *cmd)
{
	int r;

	copy_clipped(s->st.cmd, sizeof(s->st.cmd), cmd);
	mark_start(s);
	s->cap = d->cfg.session_cap;
	if ((r = recorder_begin(d, s)) < 0)
		log_line("session %s: cannot record the command in %s: %s", s->st.sid, d->cfg.shard_dir,
			 strerror(-r));
	else
		recorder_finish(d, s, "command");
	s->phase = SESSION_COMMAND;
	emit_command(d, s);
	reply_attached(d, c, s, false);
}

static void attach_tty(struct daemon *d, struct conn *c, struct session *s, int *fds)
{
	char why[256], dev[sizeof(s->st.tty)];
	int r;

	/* PAM_TTY is "ssh" inside sshd's monitor: meta.tty names the terminal
	 * the user really had, as the kernel knows it (ERANGE if it won't fit). */
	if (ttyname_r(fds[0], dev, sizeof(dev)) == 0)
		memcpy(s->st.tty, dev, sizeof(dev));
	mark_start(s);
	s->withhold = d->cfg.withhold_secrets;
	s->cap = d->cfg.session_cap;
	if (relay_attach(d, s, fds[0], fds[1], why, sizeof(why)) < 0) {
		ops_refuse_attach(d, c, s, why);
		return;
	}
	fds[0] = fds[1] = -1; /* the session's now */
	s->phase = SESSION_RELAYING;
	if ((r = recorder_begin(d, s)) < 0) {
		/* Nothing relays unrecorded: the shim falls back per its policy. */
		log_line("session %s: cannot open a shard in %s: %s", s->st.sid, d->cfg.shard_dir, strerror(-r));
		s->phase = SESSION_OPEN;
		relay_stop(d, s);
		snprintf(why, sizeof(why), "cannot write recordings: %s", strerror(-r));
		ops_refuse_attach(d, c, s, why);
		return;
	}
	relay_start(d, s);
	session_save(d, s);
	handoff_hold(d, s);
	emit_started(d, s);
	notify_status(d);
	daemon_update_timers(d);
	reply_attached(d, c, s, false);
}

void ops_attach(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds)
{
	const char *token = proto_str(req, "token"), *cmd = proto_str(req, "cmd"), *sid;
	struct json_object *v;
	struct session *s;
	char why[256];

	if (!token) {
		server_reply_error(d, c, "attach: missing token");
		return;
	}
	if (json_object_object_get_ex(req, "cmd", &v) && !cmd) {
		server_reply_error(d, c, "attach: cmd is not a string");
		return;
	}
	if (nfds != (cmd ? 0u : 2u)) {
		server_reply_error(d, c, cmd ? "attach: a command attach takes no fds"
					     : "attach: expected 2 fds (outer tty, inner pty master)");
		return;
	}
	s = session_by_token(d, token);
	if (!s) {
		ops_refuse_attach(d, c, NULL, "unknown token");
		return;
	}
	if (s->token_spent) {
		ops_refuse_attach(d, c, s, "token already used");
		return;
	}
	s->token_spent = true; /* spent even if a check below fails */
	if (s->phase != SESSION_OPEN) {
		ops_refuse_attach(d, c, s, "the session is not waiting for an attach");
		return;
	}
	if (loop_now_ms() - s->opened_ms > (int64_t)d->cfg.token_ttl * 1000) {
		ops_refuse_attach(d, c, s, "token expired");
		return;
	}
	sid = proto_str(req, "sid");
	if (sid && strcmp(sid, s->st.sid) != 0) {
		ops_refuse_attach(d, c, s, "the token is not that session's");
		return;
	}
	if (auth_attach_check(s, &c->cred, fds, nfds, why, sizeof(why)) < 0) {
		ops_refuse_attach(d, c, s, why);
		return;
	}
	copy_clipped(s->st.term, sizeof(s->st.term), proto_str(req, "term"));
	copy_clipped(s->st.shell, sizeof(s->st.shell), proto_str(req, "shell"));
	if (s->st.dry_run) {
		/* The shim runs the shell on the outer tty itself; the fds are
		 * closed by the dispatcher. */
		mark_start(s);
		s->phase = SESSION_DRYRUN;
		emit_started(d, s);
		reply_attached(d, c, s, true);
	} else if (cmd) {
		attach_command(d, c, s, cmd);
	} else {
		attach_tty(d, c, s, fds);
	}
}
