/* Unit tests for common/fdpass: fds cross a SEQPACKET socketpair CLOEXEC, and
 * on every refusal (too many, truncated control data, oversized packet,
 * unexpected control messages) each fd that arrived is closed. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdpass.h"
#include "testutil.h"

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* n fds, each a different pipe end, not CLOEXEC on the sender's side. */
static void make_fds(int *fds, size_t n, int *pipes)
{
	for (size_t i = 0; i < (n + 1) / 2; i++)
		ck_assert_int_eq(pipe(pipes + 2 * i), 0);
	for (size_t i = 0; i < n; i++)
		fds[i] = pipes[i];
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* Sends nfds fds in one packet straight through sendmsg, past FDPASS_MAX. */
static void raw_send(int sock, const int *fds, size_t nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 16)] __attribute__((aligned(8)));
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * nfds)
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	ck_assert_int_eq(sendmsg(sock, &mh, 0), 1);
}

/* clang-format off */
static const struct {
	size_t nsend, maxfds;
	const char *payload;
} good[] = {
	{ 0, 0, "no fds" },
	{ 0, 2, "room but none" },
	{ 1, 1, "one" },
	{ 1, 4, "one of four" },
	{ 2, 2, "two" },
	{ 4, 4, "max" },
};
/* clang-format on */

START_TEST(test_good)
{
	int sv[2], fds[4], pipes[4], got[4] = { -1, -1, -1, -1 };
	size_t n = 99, nsend = good[_i].nsend;
	char buf[64];
	ssize_t r;

	testutil_seqpacket_pair(sv);
	make_fds(fds, nsend, pipes);
	ck_assert_int_eq(fdpass_send(sv[0], good[_i].payload, strlen(good[_i].payload), fds, nsend), 0);
	r = fdpass_recv(sv[1], buf, sizeof(buf), got, good[_i].maxfds, &n, 0);
	ck_assert_int_eq(r, (ssize_t)strlen(good[_i].payload));
	ck_assert_mem_eq(buf, good[_i].payload, (size_t)r);
	ck_assert_uint_eq(n, nsend);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(testutil_cloexec(got[i]), "fd %d arrived without CLOEXEC", got[i]);
		ck_assert(same_file(got[i], fds[i]));
		ck_assert_int_ne(got[i], fds[i]);
	}
	close_fds(got, n);
	close_fds(pipes, (nsend + 1) / 2 * 2);
	close_fds(sv, 2);
}
END_TEST

/* Each refusal: the errno, and the fd count back where it was. */
enum bad_kind { TOO_MANY, CTRUNC, TRUNC, CREDS };
/* clang-format off */
static const struct {
	enum bad_kind kind;
	size_t nsend, maxfds;
	int err;
} bad[] = {
	{ TOO_MANY, 1, 0, -EBADMSG },
	{ TOO_MANY, 3, 2, -EBADMSG },
	{ TOO_MANY, 4, 1, -EBADMSG },
	{ CTRUNC, 8, 4, -EBADMSG },  /* more than the control buffer holds */
	{ CTRUNC, 16, 1, -EBADMSG },
	{ TRUNC, 0, 0, -EMSGSIZE },
	{ TRUNC, 2, 2, -EMSGSIZE },  /* oversized packet with fds */
	{ CREDS, 0, 0, -EBADMSG },   /* SCM_CREDENTIALS nobody asked for */
};
/* clang-format on */

START_TEST(test_bad)
{
	int sv[2], fds[16], pipes[16], got[4] = { -1, -1, -1, -1 };
	size_t n = 99, nsend = bad[_i].nsend;
	char big[200], buf[64];
	int before, one = 1;
	ssize_t r;

	testutil_seqpacket_pair(sv);
	make_fds(fds, nsend, pipes);
	memset(big, 'b', sizeof(big));
	switch (bad[_i].kind) {
	case TOO_MANY:
		ck_assert_int_eq(fdpass_send(sv[0], "x", 1, fds, nsend), 0);
		break;
	case CTRUNC:
		raw_send(sv[0], fds, nsend);
		break;
	case TRUNC:
		ck_assert_int_eq(fdpass_send(sv[0], big, sizeof(big), fds, nsend), 0);
		break;
	case CREDS:
		ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
		ck_assert_int_eq(fdpass_send(sv[0], "x", 1, NULL, 0), 0);
		break;
	}
	before = testutil_count_fds();
	r = fdpass_recv(sv[1], buf, sizeof(buf), got, bad[_i].maxfds, &n, 0);
	ck_assert_int_eq(r, bad[_i].err);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(testutil_count_fds(), before);
	/* The socket is still usable after a refusal. */
	ck_assert_int_eq(fdpass_send(sv[0], "ok", 2, NULL, 0), 0);
	if (bad[_i].kind == CREDS)
		ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &(int){ 0 }, sizeof(int)), 0);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), got, 4, &n, 0), 2);
	close_fds(pipes, (nsend + 1) / 2 * 2);
	close_fds(sv, 2);
}
END_TEST

START_TEST(test_edges)
{
	int sv[2], fds[5] = { 0, 0, 0, 0, 0 }, got[4];
	size_t n = 99;
	char buf[8];

	testutil_seqpacket_pair(sv);
	ck_assert_int_eq(fdpass_send(sv[0], "x", 1, fds, 5), -EINVAL);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), got, 4, &n, MSG_DONTWAIT), -EAGAIN);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(fdpass_send_flags(sv[0], "y", 1, NULL, 0, MSG_DONTWAIT), 0);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), got, 4, &n, MSG_DONTWAIT), 1);
	close(sv[0]);
	ck_assert_int_eq(fdpass_recv(sv[1], buf, sizeof(buf), got, 4, &n, 0), 0);
	ck_assert_int_eq(fdpass_send(sv[1], "x", 1, NULL, 0), -EPIPE);
	close(sv[1]);
}
END_TEST

static Suite *fdpass_suite(void)
{
	Suite *s = suite_create("fdpass");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(fdpass_suite());
}
