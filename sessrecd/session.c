/* session: registry, lifecycle (the one state machine, see session.h),
 * tokens and events of sessions; their state files are written by
 * sessionfile.c. Convention: 0 or -errno. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cmdpolicy.h"
#include "chain.h"
#include "cmdtrace.h"
#include "daemon.h"
#include "emit.h"
#include "handoff.h"
#include "log.h"
#include "recevent.h"
#include "monoclock.h"
#include "recorder.h"
#include "relay.h"
#include "relaytake.h"
#include "session.h"
#include "sessionfile.h"
#include "uuid.h"
#include "writer.h"

#define SESSION_STATE_EVERY_MS 2000 /* counters reach the state file this often */

/* Every phase change goes through here: the counters follow. */
static void set_phase(struct daemon *d, struct session *s, enum session_phase p)
{
	d->nlive += session_phase_live(p) - session_phase_live(s->phase);
	d->nrelay += session_phase_relaying(p) - session_phase_relaying(s->phase);
	s->phase = p;
}

static void dirty_add(struct daemon *d, struct session *s)
{
	if (s->on_dirty)
		return;
	s->on_dirty = true;
	s->dirty_prev = NULL;
	s->dirty_next = d->dirty;
	if (d->dirty)
		d->dirty->dirty_prev = s;
	d->dirty = s;
}

static void dirty_remove(struct daemon *d, struct session *s)
{
	if (!s->on_dirty)
		return;
	if (s->dirty_prev)
		s->dirty_prev->dirty_next = s->dirty_next;
	else
		d->dirty = s->dirty_next;
	if (s->dirty_next)
		s->dirty_next->dirty_prev = s->dirty_prev;
	s->on_dirty = false;
	s->dirty_prev = s->dirty_next = NULL;
}

/* What the relay saw: the inner side ended (draining starts), or the end. */
static void relay_report(struct relay *r, enum relay_event ev, const char *reason)
{
	struct session *s = r->userdata;
	struct daemon *d = s->d;

	if (ev == RELAY_END) {
		session_end(d, s, reason);
		return;
	}
	if (s->phase != SESSION_RELAYING)
		return;
	/* A duplicate in the holder would keep the shell from its hangup. */
	handoff_drop_inner(&d->ho, s->st.sid);
	s->end_reason = reason;
	set_phase(d, s, SESSION_DRAINING);
}

/* A command's pipes are done. */
static void pipe_report(struct relaypipe *rp, const char *reason)
{
	struct session *s = rp->userdata;

	session_end(s->d, s, reason);
}

/* fail=closed: the login of s cannot be recorded, so it is ended (enforce.h). */
static void terminate(struct daemon *d, struct session *s, const char *reason)
{
	struct event e = { 0 };
	char uid[24];

	if (!s->st.fail_closed || s->enforce.kill_ms)
		return;
	session_event_base(s, &e, uid);
	enforce_begin(d, &s->enforce, &s->st, reason, &e, mono_ms());
}

/* With hash chains, session_recorded carries the end line's checkpoint,
 * which exists once the writer wrote that line (finalize). */
static void recorded(struct daemon *d, struct session *s, const char *reason)
{
	if (d->writer && d->chain)
		s->recorded_due = true;
	else
		session_emit_recorded(d, s, reason);
}

/* The recorder's news of a session's recording, as events (recevent.h). */
static void recording_news(struct recording *rec, enum recorder_news what)
{
	struct session *s = (struct session *)(void *)((char *)rec - offsetof(struct session, rec));
	struct recevent_nums n;
	struct event e = { 0 };
	char uid[24];

	if (what == RECORDER_FINISHED) {
		if (s->phase == SESSION_FINISHING)
			recorded(s->d, s, s->end_reason);
		return;
	}
	session_event_base(s, &e, uid);
	recevent_news(rec, what, &e, &n);
	if (what == RECORDER_DEGRADED_NEWS)
		terminate(s->d, s, "recording_failed");
}

/* Gives s its serial, binds its relay and recording and puts it at the
 * head of the registry in phase p. */
static void session_link(struct daemon *d, struct session *s, enum session_phase p)
{
	s->d = d;
	s->serial = ++d->next_serial;
	relay_init(&s->relay, d, &s->st, &s->sync, &s->rec, relay_report, s);
	relaypipe_init(&s->pipe, d, &s->st, &s->sync, &s->rec, pipe_report, s);
	recorder_init(&s->rec, d, &s->st, &s->sync, s->serial);
	s->rec.report = recording_news;
	s->phase = SESSION_ENDED; /* counts as nothing until set_phase */
	set_phase(d, s, p);
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
	if ((r = uuid_v4(s->st.sid)) < 0 || (r = random_token(s->token, sizeof(s->token), 32)) < 0) {
		free(s);
		errno = -r;
		return NULL;
	}
	s->st.audit_session = -1;
	s->opened_ms = mono_ms();
	clock_gettime(CLOCK_REALTIME, &rt);
	s->opened_sec = rt.tv_sec;
	session_link(d, s, SESSION_OPEN);
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
	if (state_dup(&s->st, st) < 0) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	if (!s->st.cap)
		s->st.cap = d->cfg.session_cap;
	s->token_spent = true;
	s->opened_ms = mono_ms();
	s->opened_sec = st->start_sec;
	session_link(d, s, SESSION_RELAYING);
	return s;
}

void session_free(struct daemon *d, struct session *s)
{
	if (d->cmdtrace)
		cmdtrace_untrack(d->cmdtrace, s->serial);
	enforce_tick(&s->enforce, &s->st, INT64_MAX); /* what outlived its SIGTERM */
	relay_stop(&s->relay);
	relaypipe_stop(&s->pipe);
	recorder_release(&s->rec);
	if (s->closer)
		s->closer->s = NULL;
	if (s->drainer)
		s->drainer->s = NULL;
	dirty_remove(d, s);
	set_phase(d, s, SESSION_ENDED);
	if (d->tick_next == s)
		d->tick_next = s->next;
	if (s->prev)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->nsessions--;
	explicit_bzero(s->token, sizeof(s->token));
	state_free(&s->st);
	free(s);
}

/* ---- state files (sessionfile.h) ---- */

void session_save(struct daemon *d, struct session *s)
{
	sessionfile_save(d, &s->st, &s->sync, s->serial);
}

int session_save_handoff(struct daemon *d, struct session *s, int64_t now_ns)
{
	return sessionfile_save_handoff(d, &s->st, &s->rec, &s->relay, s->serial, now_ns);
}

/* ---- transitions ---- */

void session_hold(struct daemon *d, struct session *s)
{
	if (session_phase_relaying(s->phase))
		handoff_hold(&d->ho, s->st.sid, s->relay.outer_fd, s->relay.master_fd, s->relay.mem.fd);
}

/* The attach's moment on both clocks. */
static void mark_start(struct session *s)
{
	struct timespec rt;

	clock_gettime(CLOCK_REALTIME, &rt);
	s->st.start_sec = rt.tv_sec;
	s->st.start_usec = rt.tv_nsec / 1000;
	s->st.start_mono_ns = mono_ns();
}

int session_attach_tty(struct daemon *d, struct session *s, int outer, bool hangup, int *slave, char *why, size_t cap)
{
	int r;

	mark_start(s);
	s->st.withhold = d->cfg.withhold_secrets;
	s->st.cap = d->cfg.session_cap;
	if ((r = relaytake_attach(&s->relay, outer, (uid_t)s->st.uid, slave, why, cap)) < 0)
		return r;
	set_phase(d, s, SESSION_RELAYING);
	if ((r = recorder_begin(&s->rec)) < 0) {
		/* Nothing relays unrecorded, and the terminal was not touched:
		 * the shim falls back per its policy. */
		log_line("session %s: cannot open a shard in %s: %s", s->st.sid, d->cfg.shard_dir, strerror(-r));
		set_phase(d, s, SESSION_OPEN);
		relay_stop(&s->relay);
		close(*slave);
		*slave = -1;
		snprintf(why, cap, "cannot write recordings: %s", strerror(-r));
		return r;
	}
	if ((r = relaytake_seize(&s->relay, outer, hangup, why, cap)) < 0) {
		/* The header is written: the recording ends at once. */
		close(*slave);
		*slave = -1;
		session_end(d, s, "error");
		return r;
	}
	relay_start(&s->relay);
	session_save(d, s);
	session_hold(d, s);
	return 0;
}

int session_attach_command(struct daemon *d, struct session *s, int *fds, int cmd_fds[RELAYPIPE_NCHAN], char *why,
			   size_t cap)
{
	bool meta = d->cfg.transfer_metadata && cmdpolicy_transfer(state_str(s->st.cmd)) != CMDPOLICY_NOT_TRANSFER;
	int r;

	mark_start(s);
	s->st.cap = d->cfg.session_cap;
	if ((r = relaypipe_take(&s->pipe, fds, cmd_fds, why, cap)) < 0)
		return r;
	if ((r = recorder_begin(&s->rec)) < 0) {
		/* Nothing runs unrecorded: the shim falls back per its policy
		 * (on its own copies of sshd's pipes). */
		log_line("session %s: cannot record the command in %s: %s", s->st.sid, d->cfg.shard_dir, strerror(-r));
		snprintf(why, cap, "cannot write recordings: %s", strerror(-r));
		relaypipe_stop(&s->pipe);
		for (int i = 0; i < RELAYPIPE_NCHAN; i++) {
			close(cmd_fds[i]);
			cmd_fds[i] = -1;
		}
		return r;
	}
	set_phase(d, s, SESSION_COMMAND);
	relaypipe_start(&s->pipe, meta);
	return 0;
}

void session_refuse_command(struct daemon *d, struct session *s, const char *why)
{
	char text[320];

	mark_start(s);
	s->st.cap = d->cfg.session_cap;
	if (recorder_begin(&s->rec) == 0) {
		snprintf(text, sizeof(text), "refused: %s", why);
		recorder_marker(&s->rec, text);
		(void)recorder_finish(&s->rec, "refused");
	}
	s->ended_ms = mono_ms();
	set_phase(d, s, SESSION_ENDED);
}

void session_attach_dry_run(struct session *s)
{
	mark_start(s);
	set_phase(s->d, s, SESSION_DRYRUN);
}

void session_resumed(struct daemon *d, struct session *s, bool held, bool state_held)
{
	if (s->relay.master_fd < 0) {
		/* The shell went while nobody relayed: what it wrote still goes out. */
		set_phase(d, s, SESSION_DRAINING);
		s->end_reason = "exit";
	}
	if (!held)
		session_hold(d, s);
	else if (!state_held)
		handoff_hold_state(&d->ho, s->st.sid, s->relay.outer_fd, s->relay.master_fd, s->relay.mem.fd);
	relay_start(&s->relay);
	session_save(d, s);
}

/* The attach connection waiting for the end of s hears "drained". */
static void answer_drained(struct session *s)
{
	struct session_waiter *w = s->drainer;

	s->drainer = NULL;
	w->s = NULL;
	w->ended(w, s->st.sid, "recorded");
}

void session_end(struct daemon *d, struct session *s, const char *reason)
{
	bool command = s->phase == SESSION_COMMAND;

	if (!session_phase_relaying(s->phase) && !command)
		return;
	s->end_reason = reason;
	/* The commands queued so far go in before the end line. */
	if (d->cmdtrace)
		cmdtrace_untrack(d->cmdtrace, s->serial);
	relay_stop(&s->relay);
	relaypipe_stop(&s->pipe); /* a transfer's metadata markers before the end line */
	if (!command)
		handoff_drop(&d->ho, s->st.sid);
	if (d->session_ending)
		d->session_ending(d, s);
	/* A loss still being counted delays the end line and this event
	 * (recording_news, RECORDER_FINISHED). */
	if (recorder_finish(&s->rec, reason) == 0)
		recorded(d, s, reason);
	if (!command)
		sessionfile_remove(d, &s->st);
	set_phase(d, s, SESSION_FINISHING);
	s->ended_ms = mono_ms();
	/* A tty session's shim may go now: every byte reached the terminal, and
	 * it is the user's again. A command's waits for its end line
	 * (finalize): its output went to sshd's pipes as it came. */
	if (s->drainer && !command)
		answer_drained(s);
	/* The answer to a waiting close, and the session's going, happen in
	 * session_writer_progress, never under the caller's feet. */
	dirty_add(d, s);
}

void session_stop(struct daemon *d, struct session *s)
{
	if (s->phase == SESSION_COMMAND)
		session_end(d, s, "shutdown");
	if (!session_phase_relaying(s->phase))
		return;
	relay_flush_once(&s->relay);
	session_end(d, s, s->phase == SESSION_DRAINING ? s->end_reason : "shutdown");
}

void session_end_lost(struct daemon *d, const struct session_state *st, int64_t stop_ns)
{
	struct session *s = session_adopt(d, st);

	if (!s)
		return;
	s->rec.stop_ns = stop_ns;
	if (recorder_resume(&s->rec, NULL) < 0)
		s->st.failed = true;
	session_end(d, s, "lost");
}

void session_detach(struct daemon *d, struct session *s)
{
	relay_detach(&s->relay);
	recorder_release(&s->rec);
	session_free(d, s);
}

int session_wait_end(struct session *s, struct session_waiter *w, int64_t now)
{
	if (s->closer)
		return -EBUSY;
	s->closer = w;
	w->s = s;
	if (s->phase == SESSION_COMMAND)
		relaypipe_closing(&s->pipe, now);
	else
		relay_closing(&s->relay, now);
	return 0;
}

int session_wait_drained(struct session *s, struct session_waiter *w)
{
	if (!session_phase_relaying(s->phase) && s->phase != SESSION_COMMAND)
		return -ESRCH;
	if (s->drainer)
		return -EBUSY;
	s->drainer = w;
	w->s = s;
	return 0;
}

void session_unwait(struct session_waiter *w)
{
	if (w->s && w->s->closer == w)
		w->s->closer = NULL;
	if (w->s && w->s->drainer == w)
		w->s->drainer = NULL;
	w->s = NULL;
}

/* The close waiting for the end line of s hears "recorded". */
static void answer_close(struct session *s)
{
	struct session_waiter *w = s->closer;

	s->closer = NULL;
	w->s = NULL;
	w->ended(w, s->st.sid, "recorded");
}

/* FINISHING -> answered and gone, or ENDED until PAM closes. */
static void finalize(struct daemon *d, struct session *s)
{
	dirty_remove(d, s);
	if (s->drainer)
		answer_drained(s);
	if (s->recorded_due)
		session_emit_recorded(d, s, s->end_reason);
	if (!s->closer) {
		set_phase(d, s, SESSION_ENDED);
		return;
	}
	answer_close(s);
	session_free(d, s);
}

void session_writer_progress(struct daemon *d)
{
	uint64_t done;
	struct session *s, *next;

	if (d->disk_waiting)
		relay_disk_progress(d);
	if (!d->dirty || !d->writer)
		return;
	done = writer_done(d->writer);
	for (s = d->dirty; s; s = next) {
		next = s->dirty_next;
		if (s->phase != SESSION_FINISHING)
			dirty_remove(d, s);
		else if (s->rec.end_seq <= done)
			finalize(d, s);
	}
}

void session_writer_stopped(struct daemon *d)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (session_phase_relaying(s->phase))
			relay_disk_all_done(&s->relay);
	for (struct session *s = d->dirty; s; s = s->dirty_next) {
		if (s->phase != SESSION_FINISHING)
			continue;
		if (s->recorded_due)
			session_emit_recorded(d, s, s->end_reason);
		if (s->closer)
			answer_close(s);
		if (s->drainer)
			answer_drained(s);
		s->rec.end_seq = 0;
	}
}

/* ---- the tick ---- */

/* The login of s (its opener) is over: nobody will attach or close it. */
static bool opener_gone(const struct session *s)
{
	return s->st.pid > 0 && kill((pid_t)s->st.pid, 0) < 0 && errno == ESRCH;
}

static bool token_expired(struct daemon *d, const struct session *s, int64_t now)
{
	return now - s->opened_ms > (int64_t)d->cfg.token_ttl * 1000;
}

/* Expiries, once a second. A registration nobody attached within the
 * token's life is said at once, while its login goes on: an idle `ssh -N`,
 * a login whose shim was skipped or whose attach was refused. It then holds
 * no slot (MaxSessions=, MaxSessionsPerUser=), so such logins cannot starve
 * other users; it stays in the registry for PAM's close. */
static void expire(struct daemon *d, struct session *s, int64_t now)
{
	if (s->phase == SESSION_ENDED && !s->closer && now - s->ended_ms > DAEMON_ENDED_KEEP_MS) {
		session_free(d, s);
	} else if (s->phase == SESSION_OPEN && (s->token_spent || token_expired(d, s, now)) && opener_gone(s)) {
		/* the login is over: nothing will attach or close it */
		session_emit_unattached(d, s, "opener_gone");
		session_free(d, s);
	} else if (s->phase == SESSION_OPEN && token_expired(d, s, now)) {
		session_emit_unattached(d, s, "token_expired");
		set_phase(d, s, SESSION_UNATTACHED);
		terminate(d, s, "unattached");
	} else if (s->phase == SESSION_UNATTACHED && opener_gone(s)) {
		session_free(d, s); /* said when it expired */
	}
}

bool session_tick_some(struct daemon *d, int64_t now, bool house, unsigned max)
{
	struct session *s;

	if (!d->tick_pass) {
		d->tick_next = d->sessions;
		d->tick_house = house;
		d->tick_pass = true;
	}
	for (unsigned i = 0; i < max && (s = d->tick_next); i++) {
		d->tick_next = s->next; /* session_free moves it on past s too */
		if (session_phase_relaying(s->phase))
			relay_tick(&s->relay, now);
		else if (s->phase == SESSION_COMMAND)
			relaypipe_tick(&s->pipe, now);
		if (s->phase == SESSION_RELAYING &&
		    (s->sync.urgent || (s->sync.dirty && now - s->sync.saved_ms >= SESSION_STATE_EVERY_MS)))
			session_save(d, s);
		enforce_tick(&s->enforce, &s->st, now);
		if (d->tick_house)
			expire(d, s, now);
	}
	if (!d->tick_next)
		d->tick_pass = false;
	return !d->tick_pass;
}

void session_tick(struct daemon *d, int64_t now, bool house)
{
	while (!session_tick_some(d, now, house, UINT_MAX))
		;
}

void session_shutdown(struct daemon *d)
{
	for (struct session *s = d->sessions; s; s = s->next)
		session_stop(d, s);
}
