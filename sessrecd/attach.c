/* attach: the attach op (see attach.h): checks, then the session's
 * transition (session.h) and the events that say so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "auth.h"
#include "cmdpolicy.h"
#include "authinfo.h"
#include "cmdtrace_rec.h"
#include "daemon.h"
#include "emit.h"
#include "jsonadd.h"
#include "monoclock.h"
#include "notify.h"
#include "proto.h"
#include "session.h"
#include "utf8.h"

/* An attach_refused event (sid when the token named a session) and the
 * error reply; the connection closes after it. */
static struct json_object *refuse(struct daemon *d, const struct ucred *peer, const struct session *s, const char *why,
				  bool *close_after)
{
	struct event e = { .type = EVENT_ATTACH_REFUSED };
	char uid[24], pid[24];

	snprintf(uid, sizeof(uid), "%u", (unsigned)peer->uid);
	snprintf(pid, sizeof(pid), "%ld", (long)peer->pid);
	if (s)
		event_add(&e, "sid", s->st.sid);
	event_add(&e, "uid", uid);
	event_add(&e, "pid", pid);
	event_add(&e, "reason", why);
	emit_event(d, &e);
	*close_after = true;
	return proto_reply_error(why);
}

/* A malformed request: the error reply, no event. */
static struct json_object *malformed(const char *why, bool *close_after)
{
	*close_after = true;
	return proto_reply_error(why);
}

static struct json_object *reply_attached(const struct session *s, bool dry_run)
{
	struct json_object *o = proto_reply_ok();

	if (o && (jsonadd_str(o, "sid", s->st.sid) < 0 || (dry_run && jsonadd_bool(o, "dry_run", true) < 0))) {
		json_object_put(o);
		o = NULL; /* the connection goes: server_reply */
	}
	return o;
}

static void emit_started(struct daemon *d, const struct session *s)
{
	struct event e = { .type = EVENT_SESSION_STARTED };
	struct authinfo ai;
	char uid[24];

	session_event_base(s, &e, uid);
	event_add(&e, "tty", s->st.tty[0] ? s->st.tty : "-");
	/* How the login authenticated (SSH_AUTH_INFO_0), never the key. */
	if (authinfo_parse(state_str(s->st.auth), strlen(state_str(s->st.auth)), &ai) == 0) {
		event_add(&e, "auth_method", ai.method);
		event_add(&e, "key_type", ai.key_type[0] ? ai.key_type : NULL);
		event_add(&e, "key_fp", ai.key_fp[0] ? ai.key_fp : NULL);
	}
	if (s->st.dry_run)
		event_add(&e, "dry_run", "true");
	else
		event_add(&e, "shard", state_str(s->st.shard));
	emit_event(d, &e);
}

static void emit_command(struct daemon *d, const struct session *s)
{
	struct event e = { .type = EVENT_SESSION_COMMAND };
	char uid[24];

	session_event_base(s, &e, uid);
	event_add(&e, "cmd", state_str(s->st.cmd));
	emit_event(d, &e);
}

/* NoTtyCommands= refused the command (judged whole, before any clipping):
 * session_refused, the recording says so, and the reply tells the shim
 * not to run it whatever its fail= policy ("refused":"policy"). */
static struct json_object *refuse_command(struct daemon *d, struct session *s, const char *why, bool *close_after)
{
	struct event e = { .type = EVENT_SESSION_REFUSED };
	struct json_object *o;
	char uid[24];

	session_event_base(s, &e, uid);
	event_add(&e, "cmd", state_str(s->st.cmd));
	event_add(&e, "reason", "notty_policy");
	event_add(&e, "error", why);
	emit_event(d, &e);
	session_refuse_command(d, s, why);
	*close_after = true;
	o = proto_reply_error(why);
	if (o && jsonadd_str(o, "refused", "policy") < 0) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* Clipped copy of an optional, untrusted string (TERM, SHELL, cmd). */
static void copy_clipped(char *dst, size_t cap, const char *src)
{
	size_t n = src ? utf8_clip((const uint8_t *)src, strlen(src), cap - 1) : 0;

	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A heap string of the state (state_set), clipped like copy_clipped; 0 or
 * -ENOMEM. */
static int set_clipped(char **dst, size_t cap, const char *src)
{
	size_t n = src ? utf8_clip((const uint8_t *)src, strlen(src), cap - 1) : 0;
	char *p = NULL;

	if (n && !(p = strndup(src, n)))
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static struct json_object *attach_tty(struct daemon *d, const struct ucred *peer, struct session *s, int outer,
				      bool leader, struct attach_result *res)
{
	char why[256], dev[sizeof(s->st.tty)];
	/* The peer leads the terminal's session: a login, whose every earlier
	 * description of the terminal is hung up. Not a process inside
	 * someone's shell, which the hangup would end, nor a session of
	 * root's (`sessrecctl record` is root's only): root is not contained
	 * by the recorder anyway. */
	bool hangup = s->st.uid != 0 && leader;

	/* PAM_TTY is "ssh" inside sshd's monitor: meta.tty names the terminal
	 * the user really had, as the kernel knows it (ERANGE if it won't fit). */
	if (ttyname_r(outer, dev, sizeof(dev)) == 0)
		memcpy(s->st.tty, dev, sizeof(dev));
	if (session_attach_tty(d, s, outer, hangup, &res->fds[0], why, sizeof(why)) < 0)
		return refuse(d, peer, s, why, &res->close_after);
	res->nfds = 1;
	res->drain = s;
	/* Before the reply: the shim forks the shell only after it. */
	cmdtrace_rec_attach(d, s, peer->pid);
	emit_started(d, s);
	notify_status(d);
	return reply_attached(s, false);
}

static struct json_object *attach_command(struct daemon *d, const struct ucred *peer, struct session *s,
					  const char *cmd, int *fds, struct attach_result *res)
{
	char why[256];

	if (set_clipped(&s->st.cmd, STATE_CMD_MAX, cmd) < 0)
		return refuse(d, peer, s, "out of memory", &res->close_after);
	if (!cmdpolicy_allowed(d->cfg.notty_commands, cmd, why, sizeof(why)))
		return refuse_command(d, s, why, &res->close_after);
	if (session_attach_command(d, s, fds, res->fds, why, sizeof(why)) < 0)
		return refuse(d, peer, s, why, &res->close_after);
	res->nfds = ATTACH_REPLY_FDS;
	res->drain = s;
	/* Before the reply: the shim forks the command only after it. */
	cmdtrace_rec_attach(d, s, peer->pid);
	emit_command(d, s);
	notify_status(d);
	return reply_attached(s, false);
}

/* A second fd is a pty master the peer made: code that ran before the shim
 * could stage a decoy session with it. Refused, with an attach_refused
 * event naming the session when the token is one; the token stays unspent
 * so that the real shim can still attach. */
static struct json_object *refuse_master(struct daemon *d, const struct ucred *peer, const char *token,
					 bool *close_after)
{
	struct session *s = token ? session_by_token(d, token) : NULL;

	return refuse(d, peer, s,
		      "attach: sessrecd makes the inner pty itself; send only the terminal (1 fd), no pty master",
		      close_after);
}

struct json_object *attach_handle(struct daemon *d, const struct ucred *peer, struct json_object *req, int *fds,
				  size_t nfds, struct attach_result *res)
{
	const char *token = proto_str(req, "token"), *cmd = proto_str(req, "cmd"), *sid;
	bool *close_after = &res->close_after;
	struct json_object *v;
	struct session *s;
	bool leader;
	char why[256];

	*res = (struct attach_result){ .fds = { -1, -1, -1 } };
	if (!cmd && nfds == 2)
		return refuse_master(d, peer, token, close_after);
	if (!token)
		return malformed("attach: missing token", close_after);
	if (json_object_object_get_ex(req, "cmd", &v) && !cmd)
		return malformed("attach: cmd is not a string", close_after);
	if (nfds != (cmd ? 3u : 1u))
		return malformed(cmd ? "attach: a command attach takes 3 fds (stdin, stdout, stderr)"
				     : "attach: expected 1 fd (the terminal)",
				 close_after);
	s = session_by_token(d, token);
	if (!s)
		return refuse(d, peer, NULL, "unknown token", close_after);
	if (s->token_spent)
		return refuse(d, peer, s, "token already used", close_after);
	s->token_spent = true; /* spent even if a check below fails */
	/* Expiry first: an expired registration is UNATTACHED by now, and
	 * "token expired" is the line the user should see. */
	if (s->phase == SESSION_UNATTACHED || mono_ms() - s->opened_ms > (int64_t)d->cfg.token_ttl * 1000)
		return refuse(d, peer, s, "token expired", close_after);
	if (s->phase != SESSION_OPEN)
		return refuse(d, peer, s, "the session is not waiting for an attach", close_after);
	sid = proto_str(req, "sid");
	if (sid && strcmp(sid, s->st.sid) != 0)
		return refuse(d, peer, s, "the token is not that session's", close_after);
	if (auth_attach_check(&s->st, peer, fds, nfds, &leader, why, sizeof(why)) < 0)
		return refuse(d, peer, s, why, close_after);
	copy_clipped(s->st.term, sizeof(s->st.term), proto_str(req, "term"));
	copy_clipped(s->st.shell, sizeof(s->st.shell), proto_str(req, "shell"));
	if (s->st.dry_run) {
		/* The shim runs the shell on the outer tty itself; the fd is
		 * closed by the dispatcher. */
		session_attach_dry_run(s);
		emit_started(d, s);
		return reply_attached(s, true);
	}
	if (cmd)
		return attach_command(d, peer, s, cmd, fds, res);
	return attach_tty(d, peer, s, fds[0], leader, res);
}

int attach_send_drained(int sock, const char *sid, const char *status)
{
	struct json_object *o = json_object_new_object();
	int r = -ENOMEM;

	if (o && jsonadd_str(o, "op", "drained") == 0 && jsonadd_str(o, "sid", sid) == 0 &&
	    jsonadd_str(o, "status", status) == 0)
		r = proto_send_flags(sock, o, NULL, 0, MSG_DONTWAIT);
	json_object_put(o);
	return r;
}
