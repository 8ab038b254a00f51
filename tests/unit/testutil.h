/* testutil: what the Check unit tests share: running the suite, a cheap
 * assertion for hot loops, and the fd checks of the tests that pass fds
 * around. Header only (static inline). */
#pragma once
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

/* ck_assert records every passing check (a write each): too slow for the
 * millions of checks on encoder lines, so those fail loudly only. */
#define REQUIRE(c)                                                         \
	do {                                                               \
		if (!(c))                                                  \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c); \
	} while (0)

/* Runs every test of s; the test program's exit status. */
static inline int testutil_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Entries of /proc/self/fd (with ".", ".." and the directory's own fd):
 * compare two counts to see an fd leak. */
static inline int testutil_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static inline bool testutil_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);

	return f >= 0 && (f & FD_CLOEXEC);
}

/* A SEQPACKET socketpair, both ends CLOEXEC: what the protocol runs on. */
static inline void testutil_seqpacket_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}
