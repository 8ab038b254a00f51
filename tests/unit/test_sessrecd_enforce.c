/* Unit tests for sessrecd/enforce: which processes a fail=closed ending
 * signals (the pure rule), and the signalling of a real opener process. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "enforce.h"
#include "testutil.h"

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

/* A real opener without an audit session gets the signal; nothing else. */
START_TEST(test_signal_opener)
{
	int status, ready[2];
	char c;
	pid_t child;

	ck_assert_int_eq(pipe(ready), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* Check's own SIGTERM handler (it signals its process group) is not the child's. */
		signal(SIGTERM, SIG_DFL);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	ck_assert_int_eq(enforce_signal_login(child, -1, SIGTERM), 1);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGTERM);
	/* the daemon itself is never signalled */
	ck_assert_int_eq(enforce_signal_login(getpid(), -1, SIGTERM), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sessrecd_enforce");
	TCase *tc = tcase_create("enforce");

	tcase_add_test(tc, test_target);
	tcase_add_test(tc, test_signal_opener);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
