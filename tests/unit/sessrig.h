/* sessrig: the test rig of the session unit tests (test_sessrecd_session,
 * test_sessrecd_enforce, test_sessrecd_kdeny): a daemon with the in-memory
 * emitter and shard sink (memsink.h), a session attached to a pty standing
 * in for the user's
 * terminal (outer) and the inner pty the daemon makes (the test plays the
 * shell on its slave), the writer's reports.
 * Header only (static inline). */
#pragma once
#include <check.h>
#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "memsink.h"
#include "monoclock.h"
#include "session.h"
#include "writer.h"

struct rig {
	struct daemon *d;
	struct memsink m;
	char dir[64];
	int term;     /* the user's side of the outer pty */
	int term_tty; /* a copy of the outer tty, for flow control */
	int shell;    /* the shell's side of the inner pty */
};

static inline void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->term = r->term_tty = r->shell = -1; /* until attach */
	r->d = calloc(1, sizeof(*r->d));
	ck_assert_ptr_nonnull(r->d);
	config_defaults(&r->d->cfg);
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_sessrecd_rig.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->d->cfg.shard_dir, sizeof(r->d->cfg.shard_dir), "%s", r->dir);
	ck_assert_int_eq(loop_init(&r->d->loop), 0);
	r->d->ho.keeper_fd = -1; /* holder: none */
	memsink_init(&r->m);
	r->d->emitter = &r->m.emitter;
	r->d->sink = &r->m.sink;
}

static inline void rig_fini(struct rig *r)
{
	char cmd[128];

	while (r->d->sessions)
		session_free(r->d, r->d->sessions);
	recorder_close_all(r->d);
	loop_fini(&r->d->loop);
	memsink_free(&r->m);
	free(r->d);
	if (r->term >= 0)
		close(r->term);
	if (r->term_tty >= 0)
		close(r->term_tty);
	if (r->shell >= 0)
		close(r->shell);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* An open session attached to a terminal (the user's: uid 1000, 0620);
 * the daemon made the inner pty, whose slave the test plays the shell on. */
static inline struct session *attach(struct rig *r)
{
	struct session *s = session_new(r->d);
	struct stat st;
	char why[256] = "";

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->phase, SESSION_OPEN);
	strcpy(s->st.user, "alice");
	s->st.uid = 1000;
	s->st.pid = getpid();
	s->st.input = true;
	ck_assert_int_eq(openpty(&r->term, &r->term_tty, NULL, NULL, NULL), 0);
	ck_assert_int_eq(fchown(r->term_tty, 1000, 5), 0);
	ck_assert_int_eq(fchmod(r->term_tty, 0620), 0);
	/* No hangup: the test is no session leader of the terminal. */
	ck_assert_msg(session_attach_tty(r->d, s, r->term_tty, false, &r->shell, why, sizeof(why)) == 0, "attach: %s",
		      why);
	ck_assert_int_ge(r->shell, 0);
	/* The terminal is taken; the inner slave is the user's. */
	ck_assert_int_eq(fstat(r->term_tty, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(s->st.tty_owner.taken);
	ck_assert_int_eq(fstat(r->shell, &st), 0);
	ck_assert_uint_eq(st.st_uid, 1000);
	return s;
}

/* Runs the loop until cond holds (or 5 s pass). */
#define RUN_UNTIL(r, cond)                                                \
	do {                                                              \
		int64_t end_ = mono_ms() + 5000;                          \
		while (!(cond) && mono_ms() < end_)                       \
			(void)loop_run_once(&(r)->d->loop, 50);           \
		ck_assert_msg((cond), "timed out waiting for %s", #cond); \
	} while (0)

static inline void report(struct session *s, enum writer_news kind, uint64_t bytes)
{
	struct writer_error we = { .owner = s->serial, .kind = kind, .err = ENOSPC, .lost = { .bytes = bytes } };

	recorder_writer_report(&s->rec, &we);
}
