/* Unit tests for common/ptyswitch: both switches leave the slave as
 * controlling tty on fds 0-2, nothing else open, SIGHUP as it was, also
 * after sessrecd hung the old terminal up. Real ptys, forked children. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ptyswitch.h"
#include "testutil.h"

#ifndef TIOCVHANGUP
#define TIOCVHANGUP 0x5437
#endif

/* A pty pair standing for the user's outer terminal. */
static void outer_pair(int *m, int *s)
{
	*m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(*m, 0);
	ck_assert_int_eq(grantpt(*m), 0);
	ck_assert_int_eq(unlockpt(*m), 0);
	*s = open(ptsname(*m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(*s, 0);
}

/* The controlling terminal's device, as the kernel resolves /dev/tty for
 * us (TIOCGDEV names the terminal behind it); (dev_t)-1 when there is none. */
static dev_t ctty_dev(void)
{
	unsigned int dev;
	int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	int r = fd >= 0 ? ioctl(fd, TIOCGDEV, &dev) : -1;

	if (fd >= 0)
		close(fd);
	return r == 0 ? (dev_t)dev : (dev_t)-1;
}

static dev_t rdev_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_rdev : (dev_t)-1;
}

/* Checks made inside a forked child after a switch; each failure sets a bit
 * of the exit code so the parent says which one failed. */
static int check_switched(dev_t inner, int old_slave)
{
	int bad = 0;

	for (int fd = 0; fd <= 2; fd++)
		if (rdev_of(fd) != inner || testutil_cloexec(fd))
			bad |= 1;
	if (ctty_dev() != inner)
		bad |= 2;
	if (tcgetpgrp(0) != getpgrp())
		bad |= 4;
	if (old_slave > 2 && fcntl(old_slave, F_GETFD) != -1)
		bad |= 8;
	if (getsid(0) != getpid())
		bad |= 16;
	return bad;
}

static int wait_code(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "child killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return WEXITSTATUS(st);
}

START_TEST(child_takes_slave)
{
	int m, s;
	pid_t pid;

	outer_pair(&m, &s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dev_t inner = rdev_of(s);

		if (ptyswitch_child(s) < 0)
			_exit(100);
		_exit(check_switched(inner, s));
	}
	ck_assert_int_eq(wait_code(pid), 0);
	close(m);
	close(s);
}
END_TEST

static volatile sig_atomic_t hups;
static void on_hup(int sig)
{
	(void)sig;
	hups++;
}

/* The leader's switch, with SIGHUP handled by a handler (which must not run
 * and must be back afterwards), optionally blocked (a pending HUP must not
 * surface once unblocked). */
START_TEST(leader_takes_slave)
{
	bool blocked = _i & 1, hung_up = _i & 2;
	int om, os, m, s;
	pid_t pid;

	outer_pair(&om, &os);
	outer_pair(&m, &s);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_hup }, now;
		dev_t inner = rdev_of(s);
		sigset_t set;
		int fd, bad;

		sigemptyset(&sa.sa_mask);
		sigaction(SIGHUP, &sa, NULL);
		sigemptyset(&set);
		sigaddset(&set, SIGHUP);
		if (blocked)
			sigprocmask(SIG_BLOCK, &set, NULL);
		/* Become a session leader whose ctty is the outer terminal on 0. */
		if (setsid() < 0)
			_exit(101);
		fd = open(ptsname(om), O_RDWR);
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0 || dup2(fd, 0) < 0)
			_exit(102);
		close(fd);
		if (ctty_dev() != rdev_of(os))
			_exit(103);
		/* sessrecd took the terminal: fd 0 is hung up and the session
		 * has no controlling terminal any more (its SIGHUP ignored
		 * here as the shim and pam_sessrec do). */
		if (hung_up) {
			signal(SIGHUP, SIG_IGN);
			if (ioctl(0, TIOCVHANGUP) < 0)
				_exit(105);
			sigaction(SIGHUP, &sa, NULL);
		}
		if (ptyswitch_take(s) < 0)
			_exit(104);
		bad = check_switched(inner, s);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		if (hups != 0)
			bad |= 32;
		if (sigaction(SIGHUP, NULL, &now) < 0 || now.sa_handler != on_hup)
			bad |= 64;
		_exit(bad);
	}
	ck_assert_int_eq(wait_code(pid), 0);
	close(m);
	close(s);
	close(om);
	close(os);
}
END_TEST

static Suite *ptyswitch_suite(void)
{
	Suite *su = suite_create("ptyswitch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, child_takes_slave);
	tcase_add_loop_test(tc, leader_takes_slave, 0, 4);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	return testutil_run(ptyswitch_suite());
}
