/* Unit tests for sessrecd/log: a line output that never blocks. A full
 * pipe or socket drops lines and counts them; the first line that goes
 * through again carries the count; the shared description stays blocking. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

/* Fills fd (non-blocking here, through a description of its own when it
 * is a pipe) until it takes nothing more. */
static void fill(int fd, bool sock)
{
	char buf[4096];
	int own = -1;

	memset(buf, 'x', sizeof(buf));
	if (!sock) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		ck_assert_int_ge(own, 0);
	}
	/* Big writes first, then single bytes: not even a short line fits. */
	for (size_t n = sizeof(buf); n; n = n > 1 ? n / 2 : 0) {
		for (;;) {
			ssize_t w = sock ? send(fd, buf, n, MSG_DONTWAIT) : write(own, buf, n);

			if (w < 0) {
				ck_assert_int_eq(errno, EAGAIN);
				break;
			}
		}
	}
	if (own >= 0)
		close(own);
}

static void drain(int fd)
{
	char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void check_drops(int wr, int rd, bool sock)
{
	struct log_out o = { 0 };
	unsigned long dropped = 99;
	char line[] = "sessrecd: a line\n", got[64];

	ck_assert_int_eq(log_out_line(&o, wr, line, strlen(line), &dropped), 1);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_int_eq(read(rd, got, sizeof(got)), (ssize_t)strlen(line));
	fill(wr, sock);
	ck_assert_int_eq(log_out_line(&o, wr, line, strlen(line), &dropped), 0);
	ck_assert_int_eq(log_out_line(&o, wr, line, strlen(line), &dropped), 0);
	ck_assert_int_eq(log_out_line(&o, wr, line, strlen(line), &dropped), 0);
	ck_assert_uint_eq(o.dropped, 3);
	if (sock) {
		drain(rd);
	} else {
		int fl = fcntl(rd, F_GETFL);

		fcntl(rd, F_SETFL, fl | O_NONBLOCK);
		while (read(rd, got, sizeof(got)) > 0)
			;
		fcntl(rd, F_SETFL, fl);
	}
	ck_assert_int_eq(log_out_line(&o, wr, line, strlen(line), &dropped), 1);
	ck_assert_uint_eq(dropped, 3);
	ck_assert_int_eq(log_out_line(&o, wr, line, strlen(line), &dropped), 1);
	ck_assert_uint_eq(dropped, 0);
	/* The description shared with others was left blocking. */
	ck_assert_int_eq(fcntl(wr, F_GETFL) & O_NONBLOCK, 0);
	if (o.fd != wr)
		close(o.fd);
}

START_TEST(test_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	check_drops(p[1], p[0], false);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_socket)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	check_drops(sv[0], sv[1], true);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("sessrecd_log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_pipe);
	tcase_add_test(tc, test_socket);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(log_suite());
}
