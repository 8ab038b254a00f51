/* session: registry, lifecycle, tokens, events and state files of sessions
 * (see session.h). Convention: 0 or -errno. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "auth.h"
#include "daemon.h"
#include "emit.h"
#include "handoff.h"
#include "log.h"
#include "notify.h"
#include "recorder.h"
#include "relay.h"
#include "server.h"
#include "session.h"
#include "uuid.h"

#define SESSION_STATE_EVERY_MS 2000 /* counters reach the state file this often */

/* Gives s its serial and puts it at the head of the registry. */
static void session_link(struct daemon *d, struct session *s)
{
	s->d = d;
	s->serial = ++d->next_serial;
	loop_io_init(&s->outer_io, NULL, s);
	loop_io_init(&s->master_io, NULL, s);
	s->next = d->sessions;
	if (d->sessions)
		d->sessions->prev = s;
	d->sessions = s;
	d->nsessions++;
}

struct session *session_new(struct daemon *d)
{
	struct session *s = calloc(1, sizeof(*s));
	struct timespec rt;
	int r;

	if (!s)
		return NULL;
	if ((r = uuid_v4(s->st.sid)) < 0 ||
	    (r = random_token(s->token, sizeof(s->token), 32)) < 0) {
		free(s);
		errno = -r;
		return NULL;
	}
	s->phase = SESSION_OPEN;
	s->st.outer_fd = s->st.master_fd = -1;
	s->st.audit_session = -1;
	s->opened_ms = loop_now_ms();
	clock_gettime(CLOCK_REALTIME, &rt);
	s->opened_sec = rt.tv_sec;
	session_link(d, s);
	return s;
}

struct session *session_adopt(struct daemon *d, const struct session_state *st)
{
	struct session *s;

	if (session_by_sid(d, st->sid)) {
		errno = EEXIST;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->phase = SESSION_RELAYING;
	s->st = *st;
	s->st.outer_fd = s->st.master_fd = -1;
	s->token_spent = true;
	s->withhold = st->withhold;
	s->cap = st->cap ? st->cap : d->cfg.session_cap;
	s->opened_ms = loop_now_ms();
	s->opened_sec = st->start_sec;
	session_link(d, s);
	return s;
}

void session_free(struct daemon *d, struct session *s)
{
	relay_stop(d, s);
	recorder_release(d, s);
	if (s->close_conn)
		s->close_conn->waiting = NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->nsessions--;
	explicit_bzero(s->token, sizeof(s->token));
	free(s);
}

struct session *session_by_sid(struct daemon *d, const char *sid)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (strcmp(s->st.sid, sid) == 0)
			return s;
	return NULL;
}

struct session *session_by_token(struct daemon *d, const char *token)
{
	struct session *found = NULL;

	/* Every issued token is compared, so the time taken does not say
	 * which session's token a guess came close to. */
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->token[0] && auth_token_equal(s->token, token))
			found = s;
	return found;
}

struct session *session_by_serial(struct daemon *d, uint64_t serial)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->serial == serial)
			return s;
	return NULL;
}

unsigned session_live_count(struct daemon *d)
{
	unsigned n = 0;

	for (struct session *s = d->sessions; s; s = s->next)
		n += s->phase == SESSION_OPEN || s->phase == SESSION_RELAYING || s->phase == SESSION_DRAINING ||
		     s->phase == SESSION_FINISHING;
	return n;
}

unsigned session_relay_count(struct daemon *d)
{
	unsigned n = 0;

	for (struct session *s = d->sessions; s; s = s->next)
		n += s->phase == SESSION_RELAYING || s->phase == SESSION_DRAINING;
	return n;
}

const char *session_phase_name(enum session_phase p)
{
	switch (p) {
	case SESSION_OPEN: return "open";
	case SESSION_RELAYING: return "recording";
	case SESSION_DRAINING: return "draining";
	case SESSION_FINISHING: return "finishing";
	case SESSION_ENDED: return "ended";
	case SESSION_COMMAND: return "command";
	case SESSION_DRYRUN: return "dry_run";
	}
	return "unknown";
}

double session_t(const struct session *s)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (s->stop_ns ? s->stop_ns : (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec) - s->st.start_mono_ns;
	return ns <= 0 ? 0.0 : (double)ns / 1e9;
}

void session_event_base(const struct session *s, struct event *e, char *uid)
{
	const struct session_state *st = &s->st;

	snprintf(uid, 24, "%lld", (long long)st->uid);
	event_add(e, "sid", st->sid);
	event_add(e, "user", st->user);
	event_add(e, "uid", uid);
	/* seed 000's service= is the protocol (ssh, telnet) */
	event_add(e, "service", st->proto[0] ? st->proto : st->service);
	event_add(e, "pam_service", st->service);
	event_add(e, "src_ip", st->src_ip[0] ? st->src_ip : "-");
}

static void emit_recorded(struct daemon *d, struct session *s, const char *reason)
{
	const struct session_state *st = &s->st;
	struct event e = { .type = EVENT_SESSION_RECORDED };
	char dur[32], bytes[24];

	snprintf(dur, sizeof(dur), "%.3f", session_t(s));
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)(st->bytes_in + st->bytes_out));
	event_add(&e, "sid", st->sid);
	event_add(&e, "service", st->proto[0] ? st->proto : st->service);
	event_add(&e, "src_ip", st->src_ip[0] ? st->src_ip : "-");
	event_add(&e, "user", st->user);
	event_add(&e, "duration_s", dur);
	event_add(&e, "bytes", bytes);
	event_add(&e, "truncated", st->truncated || st->failed ? "true" : "false");
	event_add(&e, "reason", reason);
	emit_event(d, &e);
}

void session_save(struct daemon *d, struct session *s)
{
	char path[PATH_MAX], json[STATE_JSON_MAX];
	int n;

	s->state_dirty = s->state_urgent = false;
	s->state_saved_ms = loop_now_ms();
	if (!d->writer || !d->state_ok || state_path(path, sizeof(path), d->cfg.state_dir, s->st.sid) < 0)
		return;
	/* What a later daemon needs that lives outside st while we run. */
	state_copy(s->st.owner, sizeof(s->st.owner), d->ho.owner);
	s->st.cap = s->cap;
	s->st.withhold = s->withhold;
	s->st.saved_ns = s->state_saved_ms * 1000000;
	s->st.handoff_ns = 0;
	n = state_to_json(&s->st, json, sizeof(json));
	if (n > 0)
		writer_state_put(d->writer, path, json, (size_t)n, s->serial);
}

static void state_remove(struct daemon *d, struct session *s)
{
	char path[PATH_MAX];

	if (d->writer && d->state_ok && state_path(path, sizeof(path), d->cfg.state_dir, s->st.sid) > 0)
		writer_state_unlink(d->writer, path);
}

void session_end(struct daemon *d, struct session *s, const char *reason)
{
	if (s->phase != SESSION_RELAYING && s->phase != SESSION_DRAINING)
		return;
	s->end_reason = reason;
	relay_stop(d, s);
	handoff_drop(d, s);
	recorder_finish(d, s, reason);
	emit_recorded(d, s, reason);
	state_remove(d, s);
	s->phase = SESSION_FINISHING;
	s->ended_ms = loop_now_ms();
	/* The reply to a waiting close, and the session's going, happen in
	 * session_writer_progress, never under the caller's feet. */
}

/* The close waiting for s's end line hears "recorded". */
static void answer_close(struct daemon *d, struct session *s)
{
	struct conn *c = s->close_conn;

	s->close_conn = NULL;
	c->waiting = NULL;
	server_reply_close(d, c, s->st.sid, "recorded");
}

/* FINISHING -> answered and gone, or ENDED until PAM closes. */
static void finalize(struct daemon *d, struct session *s)
{
	if (!s->close_conn) {
		s->phase = SESSION_ENDED;
		return;
	}
	answer_close(d, s);
	session_free(d, s);
}

void session_writer_progress(struct daemon *d)
{
	uint64_t done = writer_done(d->writer);
	struct session *s, *next;

	for (s = d->sessions; s; s = next) {
		next = s->next;
		if (s->phase == SESSION_FINISHING && s->end_seq <= done)
			finalize(d, s);
	}
}

void session_writer_stopped(struct daemon *d)
{
	for (struct session *s = d->sessions; s; s = s->next) {
		if (s->phase != SESSION_FINISHING)
			continue;
		if (s->close_conn)
			answer_close(d, s);
		s->end_seq = 0;
	}
}

/* An open session whose opener is gone and whose token can no longer be
 * used will never be attached nor closed. */
static bool open_abandoned(struct daemon *d, struct session *s, int64_t now)
{
	bool expired = s->token_spent || now - s->opened_ms > (int64_t)d->cfg.token_ttl * 1000;

	return expired && s->st.pid > 0 && kill((pid_t)s->st.pid, 0) < 0 && errno == ESRCH;
}

static void emit_abandoned(struct daemon *d, struct session *s)
{
	struct event e = { .type = EVENT_SESSION_UNATTACHED };
	char uid[24];

	session_event_base(s, &e, uid);
	event_add(&e, "kind", "opener_gone");
	emit_event(d, &e);
}

void session_tick(struct daemon *d, int64_t now, bool house)
{
	struct session *s, *next;

	for (s = d->sessions; s; s = next) {
		next = s->next;
		if (s->phase == SESSION_RELAYING || s->phase == SESSION_DRAINING)
			relay_tick(d, s, now);
		if (s->phase == SESSION_RELAYING &&
		    (s->state_urgent || (s->state_dirty && now - s->state_saved_ms >= SESSION_STATE_EVERY_MS)))
			session_save(d, s);
		if (!house)
			continue;
		if (s->phase == SESSION_ENDED && !s->close_conn && now - s->ended_ms > DAEMON_ENDED_KEEP_MS) {
			session_free(d, s);
		} else if (s->phase == SESSION_OPEN && open_abandoned(d, s, now)) {
			emit_abandoned(d, s);
			session_free(d, s);
		}
	}
}

void session_shutdown(struct daemon *d)
{
	for (struct session *s = d->sessions; s; s = s->next) {
		if (s->phase != SESSION_RELAYING && s->phase != SESSION_DRAINING)
			continue;
		relay_flush_once(s);
		session_end(d, s, s->phase == SESSION_DRAINING ? s->end_reason : "shutdown");
	}
}
