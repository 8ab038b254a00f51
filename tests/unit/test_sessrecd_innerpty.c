/* Unit tests for sessrecd/innerpty and sessrecd/outertty: the inner pty
 * copies the outer terminal and belongs to the session's user; taking the
 * outer terminal makes it root's 0600 and exclusive, kills every earlier
 * description (when hung up) and keeps the master side working; giving it
 * back restores owner, group and mode exactly. Real ptys, forked children
 * for the unprivileged opener. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "innerpty.h"
#include "outertty.h"
#include "state.h"
#include "testutil.h"

#define NOBODY 65534

/* A pty pair standing for the user's outer terminal (as sshd leaves it:
 * the user's, group tty, 0620). */
static void outer_pair(int *m, int *s)
{
	*m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(*m, 0);
	ck_assert_int_eq(grantpt(*m), 0);
	ck_assert_int_eq(unlockpt(*m), 0);
	*s = open(ptsname(*m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(*s, 0);
	ck_assert_int_eq(fchown(*s, NOBODY, 5), 0);
	ck_assert_int_eq(fchmod(*s, 0620), 0);
}

static const struct open_case {
	unsigned short rows, cols;
	tcflag_t clear_lflag;
} open_cases[] = {
	{ 30, 100, ECHO },
	{ 1, 1, ICANON | ISIG },
	{ 0, 0, 0 }, /* a tty that never had a size keeps 0x0 */
	{ 200, 500, ECHO | ICANON },
};

START_TEST(open_copies_outer_tty)
{
	const struct open_case *c = &open_cases[_i];
	struct winsize ws = { .ws_row = c->rows, .ws_col = c->cols }, got;
	struct termios tio;
	struct stat st;
	int om, os, m = -1, s = -1;

	outer_pair(&om, &os);
	ck_assert_int_eq(ioctl(os, TIOCSWINSZ, &ws), 0);
	ck_assert_int_eq(tcgetattr(os, &tio), 0);
	tio.c_lflag &= ~c->clear_lflag;
	ck_assert_int_eq(tcsetattr(os, TCSANOW, &tio), 0);

	ck_assert_int_eq(innerpty_open(os, NOBODY, &m, &s), 0);
	ck_assert(testutil_cloexec(m) && testutil_cloexec(s));
	ck_assert(isatty(s));
	ck_assert_str_eq(ptsname(m), ttyname(s));
	ck_assert_int_eq(ioctl(s, TIOCGWINSZ, &got), 0);
	ck_assert_uint_eq(got.ws_row, c->rows);
	ck_assert_uint_eq(got.ws_col, c->cols);
	ck_assert_int_eq(tcgetattr(s, &tio), 0);
	ck_assert_uint_eq(tio.c_lflag & (ECHO | ICANON | ISIG), (ECHO | ICANON | ISIG) & ~c->clear_lflag);
	/* The user's, as sshd leaves a login's pty. */
	ck_assert_int_eq(fstat(s, &st), 0);
	ck_assert_uint_eq(st.st_uid, NOBODY);
	ck_assert_uint_eq(st.st_mode & 07777, 0620);
	close(m);
	close(s);
	close(om);
	close(os);
}
END_TEST

START_TEST(open_non_tty_defaults)
{
	struct winsize got;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), m, s;

	ck_assert_int_eq(innerpty_open(null, 0, &m, &s), 0);
	ck_assert(testutil_cloexec(m) && testutil_cloexec(s));
	ck_assert_int_eq(ioctl(s, TIOCGWINSZ, &got), 0);
	ck_assert_uint_eq(got.ws_row, 24);
	ck_assert_uint_eq(got.ws_col, 80);
	close(m);
	close(s);
	ck_assert_int_eq(innerpty_open(-1, 0, &m, &s), 0);
	close(m);
	close(s);
	close(null);
}
END_TEST

/* errno of opening path read-write as uid NOBODY (0: it opened). */
static int open_as_nobody(const char *path)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(200);
		fd = open(path, O_RDWR | O_NOCTTY);
		_exit(fd >= 0 ? 0 : errno);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_ne(WEXITSTATUS(st), 200);
	return WEXITSTATUS(st);
}

/* What the master side (sshd) reads within a second. */
static void master_reads(int m, const char *want)
{
	char buf[256];
	size_t got = 0, n = strlen(want);

	for (int i = 0; i < 100 && got < n; i++) {
		ssize_t r = read(m, buf + got, sizeof(buf) - 1 - got);

		if (r > 0)
			got += (size_t)r;
		else
			usleep(10000);
	}
	buf[got] = '\0';
	ck_assert_str_eq(buf, want);
}

/* _i: 0 without a hangup (sessrecctl record), 1 with one (a login). */
START_TEST(take_and_give_back)
{
	bool hangup = _i;
	struct state_tty_owner was;
	char path[64], c;
	struct stat st;
	int om, os, before, fd = -1, fl;

	outer_pair(&om, &os);
	fl = fcntl(om, F_GETFL);
	ck_assert_int_eq(fcntl(om, F_SETFL, fl | O_NONBLOCK), 0);
	ck_assert_int_eq(ttyname_r(os, path, sizeof(path)), 0);
	/* A description opened before the attach (a background job's). */
	before = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	ck_assert_int_ge(before, 0);
	ck_assert_int_eq(open_as_nobody(path), 0);

	ck_assert_int_eq(outertty_take(os, hangup, &was, &fd), 0);
	ck_assert(was.taken);
	ck_assert_int_eq(was.uid, NOBODY);
	ck_assert_int_eq(was.gid, 5);
	ck_assert_uint_eq(was.mode, 0620);
	ck_assert(testutil_cloexec(fd));
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* Closed to the user: by mode, and by TIOCEXCL even were it open. */
	ck_assert_int_eq(open_as_nobody(path), EACCES);
	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_int_eq(open_as_nobody(path), EBUSY);
	ck_assert_int_eq(chmod(path, 0600), 0);
	if (hangup) {
		/* Earlier descriptions are dead both ways. */
		ck_assert_int_eq(write(before, "x", 1), -1);
		ck_assert_int_eq(errno, EIO);
		ck_assert_int_eq(read(before, &c, 1), 0);
	} else {
		ck_assert_int_eq(write(before, "b", 1), 1);
		master_reads(om, "b");
	}
	/* The daemon's description and the master side work. */
	ck_assert_int_eq(write(fd, "ok", 2), 2);
	master_reads(om, "ok");
	ck_assert_int_eq(write(om, "k\n", 2), 2);
	for (int i = 0; i < 100 && read(fd, &c, 1) != 1; i++)
		usleep(10000);
	ck_assert_int_eq(c, 'k');

	ck_assert_int_eq(outertty_give_back(fd, &was), 0);
	ck_assert_int_eq(fstat(os, &st), 0);
	ck_assert_uint_eq(st.st_uid, NOBODY);
	ck_assert_uint_eq(st.st_gid, 5);
	ck_assert_uint_eq(st.st_mode & 07777, 0620);
	ck_assert_int_eq(open_as_nobody(path), 0);
	close(fd);
	close(before);
	close(os);
	close(om);
}
END_TEST

/* Nothing taken: nothing to give back, nothing changed. */
START_TEST(give_back_untaken_is_noop)
{
	struct state_tty_owner was = { .taken = false };
	struct stat st;
	int om, os;

	outer_pair(&om, &os);
	ck_assert_int_eq(outertty_give_back(os, &was), 0);
	ck_assert_int_eq(fstat(os, &st), 0);
	ck_assert_uint_eq(st.st_uid, NOBODY);
	ck_assert_uint_eq(st.st_mode & 07777, 0620);
	close(os);
	close(om);
}
END_TEST

START_TEST(take_refuses_non_tty)
{
	struct state_tty_owner was;
	int fd = -1, p[2];

	/* Checked before anything is changed (a character device that is no
	 * terminal, like /dev/null, takes the same path; not tried here, as
	 * a bug would take the machine's /dev/null). */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(outertty_take(p[0], true, &was, &fd), -ENOTTY);
	ck_assert(!was.taken);
	ck_assert_int_eq(fd, -1);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *innerpty_suite(void)
{
	Suite *su = suite_create("innerpty");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, open_copies_outer_tty, 0, sizeof(open_cases) / sizeof(open_cases[0]));
	tcase_add_test(tc, open_non_tty_defaults);
	tcase_add_loop_test(tc, take_and_give_back, 0, 2);
	tcase_add_test(tc, give_back_untaken_is_noop);
	tcase_add_test(tc, take_refuses_non_tty);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return testutil_run(innerpty_suite());
}
