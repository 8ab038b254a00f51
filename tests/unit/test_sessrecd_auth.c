/* Unit tests for sessrecd/auth: tty_nr decoding, /proc/PID/stat, status and
 * sessionid parsing (hostile command names included), token comparison,
 * and the process-tree and controlling-tty readers on this very process. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "auth.h"
#include "testutil.h"

/* clang-format off */
static const struct {
	unsigned long tty_nr;
	unsigned major, minor;
} ttys[] = {
	{ 0, 0, 0 },              /* no controlling terminal */
	{ 34816, 136, 0 },        /* /dev/pts/0 */
	{ 34817, 136, 1 },        /* /dev/pts/1 */
	{ 34871, 136, 55 },
	{ 1025, 4, 1 },           /* /dev/tty1 */
	{ 1088, 4, 64 },          /* /dev/ttyS0 */
	{ 0x00108800, 136, 256 }, /* minor above 255: bits 20-31 */
	{ 0x12345678, 0x456, (0x78 | (0x123 << 8)) },
	{ 0xfffff0ffUL, 0xff0, 0xfffff },
};
/* clang-format on */

START_TEST(test_tty_nr)
{
	dev_t dev = auth_tty_nr_dev(ttys[_i].tty_nr);

	if (ttys[_i].tty_nr == 0) {
		ck_assert_uint_eq(dev, 0);
		return;
	}
	ck_assert_uint_eq(major(dev), ttys[_i].major);
	ck_assert_uint_eq(minor(dev), ttys[_i].minor);
}
END_TEST

/* The kernel's encoding, inverted: every major/minor pair round-trips. */
START_TEST(test_tty_nr_roundtrip)
{
	for (unsigned maj = 1; maj < 4096; maj += 37) {
		for (unsigned min = 0; min < (1u << 20); min += 4099) {
			unsigned long nr = (min & 0xff) | (maj << 8) | ((unsigned long)(min & ~0xffu) << 12);
			dev_t dev = auth_tty_nr_dev(nr);

			ck_assert_uint_eq(major(dev), maj);
			ck_assert_uint_eq(minor(dev), min);
		}
	}
}
END_TEST

static const struct {
	const char *text;
	int ret;
	unsigned long tty_nr;
} stats[] = {
	{ "1234 (bash) S 1000 1234 1234 34816 1300 4194560 500 0 0 0\n", 0, 34816 },
	{ "1 (systemd) S 0 1 1 0 -1 4194560\n", 0, 0 },
	/* A command name crafted to look like other fields. */
	{ "99 (a) S 1 2 3 34817 (b) R 0 0 0 0) S 1 99 99 1025 99 0\n", 0, 1025 },
	{ "99 (x y z) S 1 99 99 34871 -1 0\n", 0, 34871 },
	{ "99 ()) S 1 99 99 34871 -1 0\n", 0, 34871 },
	{ "99 (neg) S 1 99 99 -1 -1 0\n", 0, 0xffffffffUL },
	{ "99 (short) S 1 99 99\n", -EINVAL, 0 },
	{ "99 (nonum) S 1 99 99 x -1\n", -EINVAL, 0 },
	{ "99 no parens S 1 99 99 34816\n", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "99 (big) S 1 99 99 99999999999 -1\n", -EINVAL, 0 },
	{ "99 (tail) S 1 99 99 34816x -1\n", -EINVAL, 0 },
	{ "99 (sp) S  1 99 99 34816 -1\n", -EINVAL, 0 },
};

START_TEST(test_stat)
{
	unsigned long nr = 12345;

	ck_assert_int_eq(auth_parse_stat_tty(stats[_i].text, &nr), stats[_i].ret);
	if (stats[_i].ret == 0)
		ck_assert_uint_eq(nr, stats[_i].tty_nr);
}
END_TEST

/* The session id (field 6): whether the attacher leads its terminal's
 * session, so the daemon hangs the terminal up. */
static const struct {
	const char *text;
	int ret;
	pid_t sid;
} sessions[] = {
	{ "1234 (bash) S 1000 1234 1234 34816 1300 4194560\n", 0, 1234 },
	{ "99 (a) S 1 2 3 34817 (b) R 0 0 0 0) S 1 99 77 1025 99 0\n", 0, 77 },
	{ "99 (neg) S 1 99 -1 0 -1 0\n", -EINVAL, 0 },
	{ "99 (short) S 1 99\n", -EINVAL, 0 },
	{ "99 (nonum) S 1 99 x 0\n", -EINVAL, 0 },
};

START_TEST(test_stat_session)
{
	pid_t sid = 12345;

	ck_assert_int_eq(auth_parse_stat_session(sessions[_i].text, &sid), sessions[_i].ret);
	if (sessions[_i].ret == 0)
		ck_assert_int_eq(sid, sessions[_i].sid);
}
END_TEST

static const struct {
	const char *text;
	int ret;
	pid_t ppid;
} statuses[] = {
	{ "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t5\nNgid:\t0\nPid:\t5\nPPid:\t4\n", 0, 4 },
	{ "Name:\tPPid: 77\nPPid:\t1\n", 0, 1 },
	{ "PPid:\t0\n", 0, 0 },
	{ "Name:\tx\nPid:\t5\n", -EINVAL, 0 },
	{ "PPid:\t-3\n", -EINVAL, 0 },
	{ "PPid:\t12a\n", -EINVAL, 0 },
	{ "PPid:\t\n", -EINVAL, 0 },
	{ "PPid:\t99999999999\n", -EINVAL, 0 },
};

START_TEST(test_status)
{
	pid_t pp = 4242;

	ck_assert_int_eq(auth_parse_status_ppid(statuses[_i].text, &pp), statuses[_i].ret);
	if (statuses[_i].ret == 0)
		ck_assert_int_eq(pp, statuses[_i].ppid);
}
END_TEST

static const struct {
	const char *text;
	int ret;
	int64_t id;
	bool set;
} sessionids[] = {
	{ "4294967295", 0, 4294967295LL, false },
	{ "4294967295\n", 0, 4294967295LL, false },
	{ "3", 0, 3, true },
	{ "0\n", 0, 0, true },
	{ "-1", 0, -1, false },
	{ "4294967296", -EINVAL, 0, false },
	{ "", -EINVAL, 0, false },
	{ "3 4", -EINVAL, 0, false },
	{ "3\n\n", -EINVAL, 0, false },
	{ "x", -EINVAL, 0, false },
};

START_TEST(test_sessionid)
{
	int64_t id = 77;

	ck_assert_int_eq(auth_parse_sessionid(sessionids[_i].text, &id), sessionids[_i].ret);
	if (sessionids[_i].ret == 0) {
		ck_assert_int_eq(id, sessionids[_i].id);
		ck_assert_int_eq(auth_audit_set(id), sessionids[_i].set);
	}
}
END_TEST

static const struct {
	const char *a, *b;
	bool eq;
} tokens[] = {
	{ "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", true },
	{ "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFH", false },
	{ "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "bbcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", false },
	{ "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", false },
	{ "abc", "abcd", false },
	{ "", "", false }, /* an empty token never matches */
};

START_TEST(test_token_equal)
{
	ck_assert_int_eq(auth_token_equal(tokens[_i].a, tokens[_i].b), tokens[_i].eq);
	ck_assert_int_eq(auth_token_equal(tokens[_i].b, tokens[_i].a), tokens[_i].eq);
}
END_TEST

/* The /proc readers against the test process itself and its parent. */
START_TEST(test_proc_self)
{
	pid_t pp = -1, parent = getppid();
	int64_t id;
	dev_t dev = 1;
	pid_t session = 0;
	struct stat st;

	ck_assert_int_eq(auth_proc_ppid(getpid(), &pp), 0);
	ck_assert_int_eq(pp, parent);
	ck_assert_int_eq(auth_descends(getpid(), getpid()), 1);
	ck_assert_int_eq(auth_descends(getpid(), parent), 1);
	ck_assert_int_eq(auth_descends(getpid(), 1), 1);
	ck_assert_int_eq(auth_descends(parent, getpid()), 0);
	ck_assert_int_eq(auth_proc_ctty(getpid(), &dev, NULL), 0);
	ck_assert_int_eq(auth_proc_ctty(getpid(), &dev, &session), 0);
	ck_assert_int_eq(session, getsid(0));
	/* Our controlling tty, if any, is what /dev/tty leads to. */
	if (dev != 0 && stat("/proc/self/fd/0", &st) == 0 && S_ISCHR(st.st_mode) && isatty(0))
		ck_assert_uint_eq(dev, st.st_rdev);
	if (access("/proc/self/sessionid", R_OK) == 0)
		ck_assert_int_eq(auth_proc_sessionid(getpid(), &id), 0);
	ck_assert_int_lt(auth_proc_ppid(0x7ffffff0, &pp), 0);
	pp = session = -1;
	ck_assert_int_eq(auth_proc_place(getpid(), &pp, &session), 0);
	ck_assert_int_eq(pp, parent);
	ck_assert_int_eq(session, getsid(0));
	ck_assert_int_lt(auth_proc_place(0x7ffffff0, &pp, &session), 0);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("sessrecd_auth");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_tty_nr, 0, sizeof(ttys) / sizeof(ttys[0]));
	tcase_add_test(tc, test_tty_nr_roundtrip);
	tcase_add_loop_test(tc, test_stat, 0, sizeof(stats) / sizeof(stats[0]));
	tcase_add_loop_test(tc, test_stat_session, 0, sizeof(sessions) / sizeof(sessions[0]));
	tcase_add_loop_test(tc, test_status, 0, sizeof(statuses) / sizeof(statuses[0]));
	tcase_add_loop_test(tc, test_sessionid, 0, sizeof(sessionids) / sizeof(sessionids[0]));
	tcase_add_loop_test(tc, test_token_equal, 0, sizeof(tokens) / sizeof(tokens[0]));
	tcase_add_test(tc, test_proc_self);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(auth_suite());
}
