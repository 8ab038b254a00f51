/* ops: dispatch table and the ping, open, close and list handlers.
 * Convention: handlers reply themselves (server_reply*); 0 or -errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cmdtrace.h"
#include "cmdtrace_rec.h"
#include "attach.h"
#include "chain.h"
#include "authwatch.h"
#include "daemon.h"
#include "emit.h"
#include "io.h"
#include "jsonadd.h"
#include "log.h"
#include "notify.h"
#include "ops.h"
#include "proto.h"
#include "server.h"
#include "session.h"
#include "utf8.h"

#define FDS(n) (1u << (n))

struct op {
	const char *name;
	bool root_only;
	unsigned fd_counts; /* bit n set: n fds allowed */
	void (*fn)(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds);
};

static void op_ping(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds)
{
	struct json_object *o = proto_reply_ok();

	if (o && (jsonadd_str(o, "version", SESSREC_VERSION) < 0 || jsonadd_i64(o, "pid", getpid()) < 0)) {
		json_object_put(o);
		o = NULL; /* the connection goes: server_reply */
	}
	server_reply(d, c, o, false);
}

/* A string field: absent is fine unless required; present it must be a
 * string that fits (or is clipped when clip). 0 or -EINVAL. */
static int get_str(struct json_object *req, const char *key, char *dst, size_t cap, bool required, bool clip)
{
	struct json_object *v;
	const char *s;
	size_t n;

	dst[0] = '\0';
	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return required ? -EINVAL : 0;
	s = proto_str(req, key);
	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n >= cap) {
		if (!clip)
			return -EINVAL;
		/* Clipped at a character boundary: the encoders expect UTF-8. */
		n = utf8_clip((const uint8_t *)s, n, cap - 1);
	}
	if (required && n == 0)
		return -EINVAL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int get_int(struct json_object *req, const char *key, int64_t min, int64_t max, int64_t *out, bool required)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return required ? -EINVAL : 0;
	return proto_int_range(req, key, min, max, out);
}

static int get_bool(struct json_object *req, const char *key, bool *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	return proto_bool(req, key, out);
}

/* Fills st from an open request (its strings are the caller's to free);
 * the name of the first bad field in *bad (st then owns none). */
static int parse_open(struct json_object *req, struct session_state *st, bool *dry_run, const char **bad)
{
	int64_t port = 0, audit = -1;
	char fail[8], text[STATE_AUTH_MAX];

	_Static_assert(STATE_CMD_MAX == STATE_AUTH_MAX, "one buffer clips both at their limit");

	memset(st, 0, sizeof(*st));
	st->input = true;
	*dry_run = false;
	*bad = NULL;
	if (get_str(req, "user", st->user, sizeof(st->user), true, false) < 0)
		*bad = "user";
	else if (get_int(req, "uid", 0, UINT32_MAX - 1, &st->uid, true) < 0)
		*bad = "uid";
	else if (get_int(req, "pid", 1, INT32_MAX, &st->pid, true) < 0)
		*bad = "pid";
	else if (get_str(req, "service", st->service, sizeof(st->service), false, false) < 0)
		*bad = "service";
	else if (get_str(req, "proto", st->proto, sizeof(st->proto), false, false) < 0)
		*bad = "proto";
	else if (get_str(req, "rhost", st->src_ip, sizeof(st->src_ip), false, false) < 0)
		*bad = "rhost";
	else if (get_int(req, "rport", 0, 65535, &port, false) < 0)
		*bad = "rport";
	else if (get_str(req, "tty", st->tty, sizeof(st->tty), false, false) < 0)
		*bad = "tty";
	else if (get_int(req, "sessionid", -1, UINT32_MAX, &audit, false) < 0)
		*bad = "sessionid";
	else if (get_str(req, "auth", text, sizeof(text), false, true) < 0 ||
		 state_set(&st->auth, STATE_AUTH_MAX, text) < 0)
		*bad = "auth";
	else if (get_str(req, "cmd", text, sizeof(text), false, true) < 0 ||
		 state_set(&st->cmd, STATE_CMD_MAX, text) < 0)
		*bad = "cmd";
	else if (get_bool(req, "input", &st->input) < 0)
		*bad = "input";
	else if (get_bool(req, "dry_run", dry_run) < 0)
		*bad = "dry_run";
	/* deploy: the login's fail= (absent, from older clients: open) */
	else if (get_str(req, "fail", fail, sizeof(fail), false, false) < 0 ||
		 (fail[0] && strcmp(fail, "open") != 0 && strcmp(fail, "closed") != 0))
		*bad = "fail";
	if (*bad) {
		state_free(st);
		return -EINVAL;
	}
	st->src_port = (int)port;
	st->audit_session = audit;
	st->fail_closed = strcmp(fail, "closed") == 0;
	return 0;
}

static void emit_skipped(struct daemon *d, const struct session_state *st, const char *reason)
{
	struct event e;

	event_session_skipped(&e, &(struct event_skipped){
					  .reason = reason,
					  .user = st->user,
					  .service = st->proto[0] ? st->proto : st->service,
					  .pam_service = st->service,
					  .src_ip = st->src_ip[0] ? st->src_ip : "-",
				  });
	emit_event(d, &e);
}

static void reply_skipped(struct daemon *d, struct conn *c, const char *error, const char *skipped)
{
	struct json_object *o = proto_reply_error(error);

	if (o && jsonadd_str(o, "skipped", skipped) < 0) {
		json_object_put(o);
		o = NULL;
	}
	server_reply(d, c, o, true);
}

/* Whether the shard directory has room (MinFreeSpace=); -errno when it
 * cannot be told. */
static int shard_space_ok(struct daemon *d)
{
	struct statvfs sv;
	int r;

	if ((r = io_mkdir_p(d->cfg.shard_dir, 0700)) < 0)
		return r;
	if (statvfs(d->cfg.shard_dir, &sv) < 0)
		return -errno;
	return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize >= d->cfg.min_free;
}

/* Whether uid holds its share already: MaxSessionsPerUser=, and never the
 * last sixteenth of MaxSessions= (rounded up), kept for other users, so
 * that one user's idle logins cannot leave others unrecorded (fail=open) or
 * locked out (fail=closed). uid 0 is not capped: it can stop the daemon
 * anyway, and `sessrecctl record` runs as root. The refusal in err. */
static bool user_over_share(struct daemon *d, int64_t uid, char *err, size_t cap)
{
	unsigned reserve = (d->cfg.max_sessions + 15) / 16, held;

	if (uid == 0)
		return false;
	if (d->cfg.max_sessions == 1)
		reserve = 0; /* one slot: nothing to keep */
	held = session_user_count(d, uid);
	if (held >= d->cfg.max_per_user) {
		snprintf(err, cap, "too many sessions of uid %lld (MaxSessionsPerUser=%u)", (long long)uid,
			 d->cfg.max_per_user);
		return true;
	}
	if (held >= d->cfg.max_sessions - reserve) {
		snprintf(err, cap, "uid %lld has %u sessions; the last %u of MaxSessions=%u are kept for other users",
			 (long long)uid, held, reserve, d->cfg.max_sessions);
		return true;
	}
	return false;
}

static void op_open(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds)
{
	struct session_state st;
	struct json_object *o;
	struct session *s;
	const char *bad = NULL;
	char err[128];
	bool dry_run;
	int r;

	if (parse_open(req, &st, &dry_run, &bad) < 0) {
		snprintf(err, sizeof(err), "open: missing or invalid field \"%s\"", bad);
		server_reply_error(d, c, err);
		return;
	}
	r = shard_space_ok(d);
	if (r <= 0) {
		if (r < 0)
			log_line("cannot check free space in %s: %s", d->cfg.shard_dir, strerror(-r));
		emit_skipped(d, &st, r < 0 ? "shard_dir_error" : "disk_pressure");
		reply_skipped(d, c,
			      r < 0 ? "the shard directory is not usable" : "not enough free space for recordings",
			      r < 0 ? "shard_dir_error" : "disk_pressure");
		goto out;
	}
	if (session_live_count(d) >= d->cfg.max_sessions) {
		emit_skipped(d, &st, "session_limit");
		snprintf(err, sizeof(err), "too many sessions (MaxSessions=%u)", d->cfg.max_sessions);
		reply_skipped(d, c, err, "session_limit");
		goto out;
	}
	if (user_over_share(d, st.uid, err, sizeof(err))) {
		emit_skipped(d, &st, "user_session_limit");
		reply_skipped(d, c, err, "user_session_limit");
		goto out;
	}
	s = session_new(d);
	if (!s) {
		log_line("open: cannot register a session: %s", strerror(errno));
		server_reply_error(d, c, "cannot register the session");
		goto out;
	}
	memcpy(st.sid, s->st.sid, sizeof(st.sid));
	st.input = st.input && d->cfg.record_input;
	st.dry_run = dry_run;
	state_free(&s->st);
	s->st = st; /* the session takes st's strings */
	memset(&st, 0, sizeof(st));
	notify_status(d);
	o = proto_reply_ok();
	if (o && (jsonadd_str(o, "sid", s->st.sid) < 0 || jsonadd_str(o, "token", s->token) < 0)) {
		json_object_put(o);
		o = NULL; /* the connection goes; the open session expires with its opener */
	}
	server_reply(d, c, o, false);
out:
	state_free(&st);
}

/* "sftp", "forwarding": a word of the caller's, or the default. */
static const char *unattached_kind(struct json_object *req)
{
	const char *k = proto_str(req, "kind");
	size_t n;

	if (!k || !(n = strlen(k)) || n > 32)
		return "no_shell";
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-'))
			return "no_shell";
	return k;
}

static void op_close(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds)
{
	const char *sid = proto_str(req, "sid"), *state;
	struct session *s;

	if (!sid || !uuid_valid(sid)) {
		server_reply_error(d, c, "close: missing or invalid sid");
		return;
	}
	s = session_by_sid(d, sid);
	if (!s) {
		server_reply_close(d, c, sid, "gone");
		return;
	}
	switch (s->phase) {
	case SESSION_RELAYING:
	case SESSION_DRAINING:
	case SESSION_FINISHING:
	case SESSION_COMMAND:
		/* Answered once the session drained and its end line is written. */
		if (server_wait_close(d, c, s) < 0)
			server_reply_error(d, c, "close: a close of this session is already waiting");
		return;
	case SESSION_OPEN:
		session_emit_unattached(d, s, unattached_kind(req));
		state = "unattached";
		break;
	case SESSION_UNATTACHED:
		state = "unattached"; /* said when its token expired */
		break;
	case SESSION_DRYRUN:
		state = "dry_run";
		break;
	default:
		state = "recorded";
		break;
	}
	session_free(d, s);
	notify_status(d);
	server_reply_close(d, c, sid, state);
}

/* One session as list shows it; NULL when out of memory. */
static struct json_object *list_entry(const struct session *s)
{
	const struct session_state *st = &s->st;
	struct json_object *e = json_object_new_object();
	char start[64];

	if (shard_rfc3339(start, sizeof(start), st->start_sec ? st->start_sec : s->opened_sec,
			  st->start_sec ? st->start_usec : 0) < 0)
		start[0] = '\0';
	if (!e || jsonadd_str(e, "sid", st->sid) < 0 || jsonadd_str(e, "user", st->user) < 0 ||
	    jsonadd_i64(e, "uid", st->uid) < 0 || jsonadd_str(e, "service", st->service) < 0 ||
	    jsonadd_str(e, "proto", st->proto) < 0 || jsonadd_str(e, "tty", st->tty) < 0 ||
	    jsonadd_i64(e, "pid", st->pid) < 0 || jsonadd_str(e, "start", start) < 0 ||
	    jsonadd_str(e, "state", session_phase_name(s->phase)) < 0 || jsonadd_u64(e, "bytes_in", st->bytes_in) < 0 ||
	    jsonadd_u64(e, "bytes_out", st->bytes_out) < 0) {
		json_object_put(e);
		return NULL;
	}
	return e;
}

/* One page of the live sessions, from the request's "offset" on, as many
 * as fit one message; "next" is where the following page starts. Sessions
 * that start or end between pages move the offsets: the client (sessrecctl
 * status) drops a sid it has already seen. */
static void op_list(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds)
{
	struct json_object *o = NULL, *arr = NULL, *e;
	/* {"ok":true,"sessions":[],"resumed":N,"total":N,"offset":N,"next":N,"truncated":true}
	 * and "seal_epoch":N (or "seal":false) */
	size_t used = 200;
	uint64_t epoch = 0;
	int64_t offset = 0, total = 0, next = -1;
	int r = -ENOMEM;

	if (json_object_object_get_ex(req, "offset", NULL) &&
	    proto_int_range(req, "offset", 0, INT32_MAX, &offset) < 0) {
		server_reply_error(d, c, "list: invalid offset");
		return;
	}
	if (!(o = proto_reply_ok()) || !(arr = json_object_new_array()))
		goto out;
	for (struct session *s = d->sessions; s; s = s->next) {
		size_t len;

		if (s->phase == SESSION_ENDED)
			continue;
		if (total++ < offset || next >= 0)
			continue;
		if (!(e = list_entry(s)))
			goto out;
		if (!json_object_to_json_string_length(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
						       &len)) {
			json_object_put(e);
			goto out;
		}
		/* One reply is one message: the rest is for the next page. */
		if (used + len + 1 > PROTO_MSG_MAX) {
			json_object_put(e);
			next = total - 1;
			continue;
		}
		used += len + 1;
		if (jsonadd_append(arr, e) < 0)
			goto out;
	}
	r = jsonadd_value(o, "sessions", arr);
	arr = NULL; /* o's now, or put */
	/* Whether checkpoints are sealed (sessrecd(8), SEALS): status says so. */
	if (r == 0 && d->chain && !chain_sealing(d->chain, &epoch))
		r = jsonadd_bool(o, "seal", false);
	else if (r == 0 && d->chain)
		r = jsonadd_i64(o, "seal_epoch", (int64_t)epoch);
	/* Where command records come from (cmdtrace_rec.h): status says it. */
	if (r == 0 && (r = jsonadd_str(o, "commands", cmdtrace_rec_source(d))) == 0 && d->cmdtrace)
		r = jsonadd_u64(o, "commands_lost", cmdtrace_lost(d->cmdtrace));
	if (r == 0 && (r = jsonadd_i64(o, "resumed", d->ho.resumed)) == 0 &&
	    (r = jsonadd_i64(o, "total", total)) == 0 && (r = jsonadd_i64(o, "offset", offset)) == 0 && next >= 0 &&
	    (r = jsonadd_i64(o, "next", next)) == 0)
		r = jsonadd_bool(o, "truncated", true);
out:
	json_object_put(arr);
	if (r < 0) {
		json_object_put(o);
		o = NULL; /* the connection goes: server_reply */
	}
	server_reply(d, c, o, false);
}

static void op_attach(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds)
{
	struct attach_result res;
	struct json_object *o = attach_handle(d, server_conn_peer(c), req, fds, nfds, &res);

	/* A command's pipes go back with the reply; the connection then
	 * waits for the session's end ("drained"). */
	if (server_reply_fds(d, c, o, res.fds, res.nfds, res.close_after) && res.drain)
		server_wait_drained(d, c, res.drain);
}

/* A failed PAM authentication from pam_sessrec authfail (root only: the
 * module runs in sshd, login, su as root); the fields are what PAM had,
 * the user name the client's. */
static void op_authfail(struct daemon *d, struct conn *c, struct json_object *req, int *fds, size_t nfds)
{
	struct authwatch_pam f = {
		.user = proto_str(req, "user"),
		.rhost = proto_str(req, "rhost"),
		.service = proto_str(req, "service"),
		.error = proto_str(req, "error"),
		.pid = (long)server_conn_peer(c)->pid,
	};

	if (!f.user || !f.service) {
		server_reply_error(d, c, "authfail: user and service are required");
		return;
	}
	authwatch_pam_failure(d, &f);
	server_reply(d, c, proto_reply_ok(), false);
}

static const struct op ops[] = {
	{ "ping", false, FDS(0), op_ping },
	{ "open", true, FDS(0), op_open },
	{ "attach", false, FDS(0) | FDS(1) | FDS(2) | FDS(3), op_attach }, /* 2: a master, refused with its own line */
	{ "close", true, FDS(0), op_close },
	{ "list", true, FDS(0), op_list },
	{ "authfail", true, FDS(0), op_authfail },
};

void ops_dispatch(struct daemon *d, struct conn *c, struct json_object *msg, int *fds, size_t nfds)
{
	const char *name = proto_str(msg, "op");
	const struct op *op = NULL;
	char err[128];

	for (size_t i = 0; name && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			op = &ops[i];
	if (!op) {
		/* The name is the peer's: it is not echoed. */
		server_reply_error(d, c, name ? "unknown op" : "not a request: no \"op\"");
	} else if (nfds >= 32 || !(op->fd_counts & FDS(nfds))) {
		snprintf(err, sizeof(err), "%s: wrong number of fds (%zu)", op->name, nfds);
		server_reply_error(d, c, err);
	} else if (op->root_only && server_conn_peer(c)->uid != 0) {
		snprintf(err, sizeof(err), "%s: permission denied (root only)", op->name);
		server_reply_error(d, c, err);
	} else {
		op->fn(d, c, msg, fds, nfds);
	}
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}
