/* Unit tests for sessrecd/enforce: which processes a fail=closed ending
 * signals (the pure rule), the signalling of a real opener process, and
 * the session state machine ending the login of a failed or unattached
 * session (the rig of sessrig.h). */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "enforce.h"
#include "testutil.h"
#include "sessrig.h"

#define SELF 500
#define OPENER 600

START_TEST(test_target)
{
	/* the opener, whatever its audit session */
	ck_assert(enforce_target(OPENER, -1, OPENER, 7, SELF, 3));
	ck_assert(enforce_target(OPENER, 9, OPENER, -1, SELF, 3));
	/* the login's audit session */
	ck_assert(enforce_target(700, 7, OPENER, 7, SELF, 3));
	ck_assert(!enforce_target(700, 8, OPENER, 7, SELF, 3));
	ck_assert(!enforce_target(700, -1, OPENER, 7, SELF, 3));
	/* no audit session: only the opener, never everything "unset" */
	ck_assert(!enforce_target(700, -1, OPENER, -1, SELF, 3));
	ck_assert(!enforce_target(700, 4294967295LL, OPENER, 4294967295LL, SELF, 3));
	/* never pid 1, never the daemon, never the daemon's own audit session */
	ck_assert(!enforce_target(1, 7, OPENER, 7, SELF, 3));
	ck_assert(!enforce_target(0, 7, OPENER, 7, SELF, 3));
	ck_assert(!enforce_target(SELF, 7, OPENER, 7, SELF, 3));
	ck_assert(!enforce_target(700, 7, OPENER, 7, SELF, 7));
	ck_assert(!enforce_target(1, -1, 1, -1, SELF, 3));
	ck_assert(!enforce_target(SELF, -1, SELF, -1, SELF, 3));
}
END_TEST

/* A stand-in for a login's opener (no audit session: it alone is
 * signalled); ignoring SIGTERM when stubborn. Check's own SIGTERM handler
 * is not the child's. */
static pid_t opener(bool stubborn)
{
	int ready[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGTERM, stubborn ? SIG_IGN : SIG_DFL);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static int ended_by(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	return WTERMSIG(st);
}

/* A real opener without an audit session gets the signal; nothing else. */
START_TEST(test_signal_opener)
{
	pid_t child = opener(false);

	ck_assert_int_eq(enforce_signal_login(child, -1, SIGTERM), 1);
	ck_assert_int_eq(ended_by(child), SIGTERM);
	/* the daemon itself is never signalled */
	ck_assert_int_eq(enforce_signal_login(getpid(), -1, SIGTERM), 0);
}
END_TEST

/* fail=closed: a recording that fails ends its login (session_terminated
 * reason=recording_failed, SIGTERM to the opener); fail=open does not. */
START_TEST(test_fail_closed_recording)
{
	bool closed = _i == 0;
	struct rig r;
	struct session *s;
	const char *l;
	pid_t pid;

	rig_init(&r);
	s = attach(&r);
	pid = opener(false);
	s->st.pid = pid;
	s->st.fail_closed = closed;
	report(s, WRITER_FAILED, 0);
	ck_assert_ptr_nonnull(memsink_event(&r.m, NULL, "recording_degraded"));
	l = memsink_event(&r.m, NULL, "session_terminated");
	if (closed) {
		ck_assert_ptr_nonnull(l);
		ck_assert_msg(strstr(l, "user=alice") && strstr(l, "reason=recording_failed") &&
				      strstr(l, "signalled=1"),
			      "%s", l);
		ck_assert_int_eq(ended_by(pid), SIGTERM);
	} else {
		ck_assert_ptr_null(l);
		ck_assert_int_eq(kill(pid, 0), 0); /* alive */
		kill(pid, SIGKILL);
		ck_assert_int_eq(ended_by(pid), SIGKILL);
	}
	s->st.pid = getpid(); /* gone: nothing left to signal at the free */
	rig_fini(&r);
}
END_TEST

/* fail=closed: a registration not attached within TokenTimeoutSec= is
 * said (session_unattached) and its login ended: SIGTERM, and SIGKILL once
 * ENFORCE_GRACE_MS passed for what ignored it. */
START_TEST(test_fail_closed_unattached)
{
	struct rig r;
	struct session *s;
	const char *l;
	int64_t now;
	pid_t pid;

	rig_init(&r);
	s = session_new(r.d);
	ck_assert_ptr_nonnull(s);
	strcpy(s->st.user, "bob");
	s->st.uid = 1001;
	s->st.fail_closed = true;
	s->st.pid = pid = opener(true);
	now = s->opened_ms + (int64_t)r.d->cfg.token_ttl * 1000 + 1;
	session_tick(r.d, now - 2, true);
	ck_assert_ptr_null(memsink_event(&r.m, NULL, "session_unattached"));
	session_tick(r.d, now, true);
	ck_assert_int_eq(s->phase, SESSION_UNATTACHED);
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "session_unattached"));
	ck_assert_ptr_nonnull(strstr(l, "kind=token_expired"));
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "session_terminated"));
	ck_assert_msg(strstr(l, "reason=unattached") && strstr(l, "signalled=1"), "%s", l);
	session_tick(r.d, now + ENFORCE_GRACE_MS - 1, false);
	ck_assert_int_eq(kill(pid, 0), 0); /* SIGTERM ignored, grace not over */
	session_tick(r.d, now + ENFORCE_GRACE_MS, false);
	ck_assert_int_eq(ended_by(pid), SIGKILL);
	s->st.pid = getpid();
	rig_fini(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sessrecd_enforce");
	TCase *tc = tcase_create("enforce");

	tcase_add_test(tc, test_target);
	tcase_add_test(tc, test_signal_opener);
	tcase_add_loop_test(tc, test_fail_closed_recording, 0, 2);
	tcase_add_test(tc, test_fail_closed_unattached);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
