/* Unit tests for sessrecd/writer: lines land in queue order and whole;
 * closes wait behind earlier lines; state files are put and removed;
 * failures come back with their owner, a disk that takes part of a batch
 * keeps its whole lines and no torn one; after a failure, no later line
 * of that owner is written (each is counted, reported at its fence) until
 * its resync line is, while other owners go on; stop performs what was
 * queued. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "writer.h"
#include "testutil.h"

static char dir[] = "/tmp/test_sessrecd_writer.XXXXXX";

static void setup(void)
{
	strcpy(dir, "/tmp/test_sessrecd_writer.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int open_append(const char *name, char *path)
{
	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* Waits until the writer has performed seq (the eventfd is only signalled
 * for notify entries, so poll the counter through it). */
static void wait_done(struct writer *w, int efd, uint64_t seq)
{
	while (writer_done(w) < seq) {
		struct pollfd p = { .fd = efd, .events = POLLIN };

		(void)poll(&p, 1, 10);
	}
}

START_TEST(test_order_and_close)
{
	struct writer *w;
	char path[PATH_MAX], line[64], want[64 * 1000], got[64 * 1000 + 1];
	size_t wl = 0;
	uint64_t seq = 0, prev = 0;
	int efd, fd;

	ck_assert_int_eq(writer_start(&w, &efd), 0);
	fd = open_append("a.jsonl", path);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d}\n", i);

		seq = writer_line(w, fd, 1, line, (size_t)n, i == 999);
		ck_assert_uint_gt(seq, prev); /* sequence numbers only grow */
		prev = seq;
		memcpy(want + wl, line, (size_t)n);
		wl += (size_t)n;
	}
	seq = writer_close_fd(w, fd);
	ck_assert_uint_gt(seq, prev);
	wait_done(w, efd, seq);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* closed by the writer */
	ck_assert_int_eq(io_read_file(path, got, sizeof(got)), (ssize_t)wl);
	ck_assert(memcmp(got, want, wl) == 0);
	ck_assert(!writer_congested(w));
	writer_stop(w);
}
END_TEST

START_TEST(test_notify_wakes)
{
	struct writer_error errs[4];
	struct writer *w;
	char path[PATH_MAX];
	struct pollfd p;
	uint64_t seq;
	int efd, fd;

	ck_assert_int_eq(writer_start(&w, &efd), 0);
	fd = open_append("b.jsonl", path);
	seq = writer_line(w, fd, 7, "x\n", 2, true);
	p = (struct pollfd){ .fd = efd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, -1), 1);
	ck_assert_uint_ge(writer_done(w), seq);
	ck_assert_uint_eq(writer_collect(w, errs, 4), 0);
	p.revents = 0;
	ck_assert_int_eq(poll(&p, 1, 0), 0); /* collect cleared it */
	writer_stop(w);
	close(fd);
}
END_TEST

START_TEST(test_errors_name_the_owner)
{
	struct writer_error errs[4];
	struct writer *w;
	char path[PATH_MAX];
	struct pollfd p;
	size_t n;
	int efd, fd, ro;

	ck_assert_int_eq(writer_start(&w, &efd), 0);
	fd = open_append("c.jsonl", path);
	close(fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	writer_line(w, ro, 42, "x\n", 2, false);
	p = (struct pollfd){ .fd = efd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, -1), 1);
	n = writer_collect(w, errs, 4);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(errs[0].owner, 42);
	ck_assert_int_eq(errs[0].err, EBADF);
	/* Owner 0 is nobody's: not reported. */
	writer_line(w, ro, 0, "y\n", 2, true);
	ck_assert_int_eq(poll(&p, 1, -1), 1);
	ck_assert_uint_eq(writer_collect(w, errs, 4), 0);
	writer_stop(w);
	close(ro);
}
END_TEST

/* A file size limit stands in for a full disk: the write that crosses it
 * is short, the next ones fail (EFBIG). Lines of one batch go out in one
 * writev, so this is the partial batch. */
START_TEST(test_partial_batch)
{
	struct rlimit lim, was;
	struct writer_error errs[8];
	char path[PATH_MAX], line[100], got[1024];
	struct writer *w;
	size_t n = 0;
	int efd, fd;

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(writer_start(&w, &efd), 0);
	fd = open_append("e.jsonl", path);
	ck_assert_int_ge(fd, 0);
	/* Check reports through files too: the limit holds only while the
	 * writer writes, no assertion runs under it. */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
	lim = (struct rlimit){ 250, was.rlim_max };
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 4; i++) {
		memset(line, 'a' + i, sizeof(line) - 1);
		line[sizeof(line) - 1] = '\n';
		writer_line_later(w, fd, (uint64_t)(i + 1), line, sizeof(line), false);
	}
	writer_flush(w);
	for (int tries = 0; n < 2 && tries < 500; tries++) {
		struct pollfd p = { .fd = efd, .events = POLLIN };

		(void)poll(&p, 1, 10);
		n += writer_collect(w, errs + n, 8 - n);
	}
	(void)setrlimit(RLIMIT_FSIZE, &was);
	/* Lines 1 and 2 are whole on disk. Lines 3 and 4, tried alone after
	 * the short batch, each get 50 bytes in, cut off again, and are
	 * reported to their owners as a full disk. */
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(errs[0].owner, 3);
	ck_assert_int_eq(errs[0].err, ENOSPC);
	ck_assert_uint_eq(errs[1].owner, 4);
	ck_assert_int_eq(errs[1].err, ENOSPC);
	ck_assert_int_eq(io_read_file(path, got, sizeof(got)), 200);
	ck_assert(got[0] == 'a' && got[99] == '\n' && got[100] == 'b' && got[199] == '\n');
	writer_stop(w);
	close(fd);
}
END_TEST

START_TEST(test_state_files)
{
	struct writer *w;
	char path[PATH_MAX], got[64];
	struct stat st;
	uint64_t seq;
	int efd;

	ck_assert_int_eq(writer_start(&w, &efd), 0);
	snprintf(path, sizeof(path), "%s/state-1", dir);
	writer_state_put(w, path, "{\"a\":1}", 7, 1);
	seq = writer_state_put(w, path, "{\"a\":2}", 7, 1);
	wait_done(w, efd, seq);
	ck_assert_int_eq(io_read_file(path, got, sizeof(got)), 7);
	ck_assert_str_eq(got, "{\"a\":2}");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	seq = writer_state_unlink(w, path);
	wait_done(w, efd, seq);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Removing what is not there is no error. */
	seq = writer_state_unlink(w, path);
	wait_done(w, efd, seq);
	writer_stop(w);
}
END_TEST

START_TEST(test_stop_flushes)
{
	struct writer *w;
	char path[PATH_MAX], got[8192];
	int efd, fd;

	ck_assert_int_eq(writer_start(&w, &efd), 0);
	fd = open_append("d.jsonl", path);
	for (int i = 0; i < 500; i++)
		writer_line(w, fd, 1, "0123456789abcde\n", 16, false);
	writer_close_fd(w, fd);
	writer_stop(w); /* everything queued is performed first */
	ck_assert_int_eq(io_read_file(path, got, sizeof(got)), 8000);
}
END_TEST

/* Collects reports until want of them came (each test bounds its wait by
 * the eventfd: the writer reports every one). */
static size_t collect(struct writer *w, int efd, struct writer_error *errs, size_t want)
{
	size_t n = 0;

	while (n < want) {
		struct pollfd p = { .fd = efd, .events = POLLIN };

		(void)poll(&p, 1, 100);
		n += writer_collect(w, errs + n, want - n);
	}
	return n;
}

static void line100(char *line, char c)
{
	memset(line, c, 99);
	line[99] = '\n';
}

/* Owner 1's line A fails (the size limit stands in for a full disk, the
 * short write is cut off), so does owner 2's B. With room again, owner 1's
 * c and owner 2's d are still dropped and counted, reported at the fences;
 * owner 1's resync line M ends its dropping (A4 is written), owner 2's B4
 * stays dropped until the fence that forgets owner 2. */
START_TEST(test_owner_dropped_until_resync)
{
	struct rlimit lim, was;
	struct writer_error errs[8];
	char path[PATH_MAX], line[100], got[1024];
	struct writer *w;
	int efd, fd;

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(writer_start(&w, &efd), 0);
	fd = open_append("f.jsonl", path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
	lim = (struct rlimit){ 250, was.rlim_max };
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	line100(line, 'a');
	writer_line_later(w, fd, 1, line, sizeof(line), false);
	line100(line, 'b');
	writer_line_later(w, fd, 2, line, sizeof(line), false);
	line100(line, 'A');
	writer_line_later(w, fd, 1, line, sizeof(line), false);
	line100(line, 'B');
	writer_line_later(w, fd, 2, line, sizeof(line), false);
	writer_flush(w);
	(void)collect(w, efd, errs, 2);
	(void)setrlimit(RLIMIT_FSIZE, &was);
	ck_assert_uint_eq(errs[0].owner, 1);
	ck_assert_int_eq(errs[0].kind, WRITER_FAILED);
	ck_assert_int_eq(errs[0].err, ENOSPC);
	ck_assert_uint_eq(errs[1].owner, 2);
	ck_assert_int_eq(errs[1].kind, WRITER_FAILED);

	line100(line, 'c');
	writer_line_later(w, fd, 1, line, sizeof(line), false);
	line100(line, 'd');
	writer_line_later(w, fd, 2, line, 50, false);
	writer_fence(w, 1, false);
	writer_fence(w, 2, false);
	(void)collect(w, efd, errs, 2);
	ck_assert_uint_eq(errs[0].owner, 1);
	ck_assert_int_eq(errs[0].kind, WRITER_FENCE);
	ck_assert_uint_eq(errs[0].lost.bytes, 200);
	ck_assert_uint_eq(errs[1].owner, 2);
	ck_assert_int_eq(errs[1].kind, WRITER_FENCE);
	ck_assert_uint_eq(errs[1].lost.bytes, 150);
	ck_assert_int_eq(io_read_file(path, got, sizeof(got)), 200);

	writer_resync_line(w, fd, 1, "M\n", 2);
	writer_line(w, fd, 1, "A4\n", 3, false);
	writer_line(w, fd, 2, "B4\n", 3, false);
	writer_fence(w, 2, true); /* owner 2 is gone: forgotten */
	(void)collect(w, efd, errs, 2);
	ck_assert_uint_eq(errs[0].owner, 1);
	ck_assert_int_eq(errs[0].kind, WRITER_RESUMED);
	ck_assert_uint_eq(errs[1].owner, 2);
	ck_assert_uint_eq(errs[1].lost.bytes, 3);
	writer_line(w, fd, 2, "B5\n", 3, false);
	writer_close_fd(w, fd);
	writer_stop(w);
	ck_assert_int_eq(io_read_file(path, got, sizeof(got)), 208);
	ck_assert(got[0] == 'a' && got[100] == 'b');
	ck_assert(memcmp(got + 200, "M\nA4\nB5\n", 8) == 0);
}
END_TEST

/* A resync line that fails keeps the owner dropped (reported failed, not
 * counted: the caller counts its own line). */
START_TEST(test_resync_fails)
{
	struct writer_error errs[4];
	char path[PATH_MAX], got[64];
	struct writer *w;
	int efd, fd, ro;

	ck_assert_int_eq(writer_start(&w, &efd), 0);
	fd = open_append("g.jsonl", path);
	close(fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	fd = open_append("g.jsonl", path);
	writer_line(w, ro, 5, "x\n", 2, false);
	(void)collect(w, efd, errs, 1);
	ck_assert_int_eq(errs[0].kind, WRITER_FAILED);
	ck_assert_int_eq(errs[0].err, EBADF);
	writer_resync_line(w, ro, 5, "m\n", 2);
	(void)collect(w, efd, errs, 1);
	ck_assert_int_eq(errs[0].kind, WRITER_FAILED);
	writer_line(w, fd, 5, "y\n", 2, false); /* another fd, still owner 5 */
	writer_fence(w, 5, false);
	(void)collect(w, efd, errs, 1);
	ck_assert_int_eq(errs[0].kind, WRITER_FENCE);
	ck_assert_uint_eq(errs[0].lost.bytes, 4);
	writer_resync_line(w, fd, 5, "m\n", 2);
	(void)collect(w, efd, errs, 1);
	ck_assert_int_eq(errs[0].kind, WRITER_RESUMED);
	writer_stop(w);
	ck_assert_int_eq(io_read_file(path, got, sizeof(got)), 2);
	ck_assert_str_eq(got, "m\n");
	close(fd);
	close(ro);
}
END_TEST

/* A lost line counts its bytes and the session bytes it carried: "d" or,
 * when present, the exact "raw"; other lines carry none. */
START_TEST(test_loss_line)
{
	static const char o[] =
		"{\"sid\":\"11111111-2222-4333-8444-555555555555\",\"t\":1.5,\"ch\":\"o\",\"d\":\"h\\u00e9\\r\\n\"}\n";
	static const char i[] =
		"{\"sid\":\"11111111-2222-4333-8444-555555555555\",\"t\":2,\"ch\":\"i\",\"d\":\"\\ufffd\",\"raw\":\"/w==\"}\n";
	static const char m[] = "{\"sid\":\"11111111-2222-4333-8444-555555555555\",\"t\":2,\"ch\":\"m\",\"d\":\"x\"}\n";
	struct wlines_loss l = { 0 };

	wlines_loss_line(&l, o, strlen(o));
	ck_assert_uint_eq(l.bytes, strlen(o));
	ck_assert_uint_eq(l.out, 5); /* h, two bytes of é, CR, LF */
	ck_assert_uint_eq(l.in, 0);
	wlines_loss_line(&l, i, strlen(i));
	ck_assert_uint_eq(l.in, 1); /* the one byte 0xff */
	wlines_loss_line(&l, m, strlen(m));
	wlines_loss_line(&l, "not json\n", 9);
	ck_assert_uint_eq(l.bytes, strlen(o) + strlen(i) + strlen(m) + 9);
	ck_assert_uint_eq(l.out, 5);
	ck_assert_uint_eq(l.in, 1);
}
END_TEST

static Suite *writer_suite(void)
{
	Suite *s = suite_create("sessrecd_writer");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_order_and_close);
	tcase_add_test(tc, test_notify_wakes);
	tcase_add_test(tc, test_errors_name_the_owner);
	tcase_add_test(tc, test_partial_batch);
	tcase_add_test(tc, test_owner_dropped_until_resync);
	tcase_add_test(tc, test_resync_fails);
	tcase_add_test(tc, test_loss_line);
	tcase_add_test(tc, test_state_files);
	tcase_add_test(tc, test_stop_flushes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(writer_suite());
}
