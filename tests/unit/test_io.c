/* Unit tests for common/io: full writes and reads across a pipe with a slow
 * reader, small-file reads with exact bounds, mkdir -p modes despite the
 * umask, and atomic replacement (mode, content, no temp file left). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "testutil.h"

#define BIG (1 << 20) /* 16 times a pipe buffer */

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/test_io.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_rf(const char *path)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

static void teardown(void)
{
	rm_rf(tmpdir);
}

static void fill(char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (char)(i * 131 + i / 251);
}

/* The reader takes odd-sized bites and yields between them, so the writer
 * sees full pipes and short writes. */
START_TEST(test_pipe_full)
{
	char *out = malloc(BIG), *in = malloc(BIG);
	int p[2], status;
	pid_t pid;

	fill(out, BIG);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		size_t got = 0;

		close(p[1]);
		while (got < BIG) {
			size_t bite = 777 < BIG - got ? 777 : BIG - got;

			if (io_read_full(p[0], in + got, bite) < 0)
				_exit(2);
			got += bite;
			usleep(got % (64 * 777) == 0 ? 1000 : 0);
		}
		if (memcmp(in, out, BIG) != 0)
			_exit(3);
		/* The writer closed: one more byte is an early EOF. */
		_exit(io_read_full(p[0], in, 1) == -EIO ? 0 : 4);
	}
	close(p[0]);
	ck_assert_int_eq(io_write_full(p[1], out, BIG), 0);
	close(p[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	free(out);
	free(in);
}
END_TEST

START_TEST(test_write_errors)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(io_write_full(p[1], "x", 1), -EPIPE);
	close(p[1]);
	ck_assert_int_eq(io_write_full(-1, "x", 1), -EBADF);
	ck_assert_int_eq(io_read_full(-1, p, 1), -EBADF);
}
END_TEST

static void write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(io_write_full(fd, data, n), 0);
	close(fd);
}

static const struct {
	size_t size, cap;
	ssize_t ret;
} files[] = {
	{ 0, 1, 0 },
	{ 0, 16, 0 },
	{ 5, 16, 5 },
	{ 15, 16, 15 },
	{ 16, 16, -EFBIG },
	{ 100, 16, -EFBIG },
	{ 10000, 10001, 10000 },
	{ 1, 0, -EINVAL },
};

START_TEST(test_read_file)
{
	char path[128], data[10001], buf[10002];
	ssize_t r;

	fill(data, sizeof(data));
	snprintf(path, sizeof(path), "%s/f", tmpdir);
	write_file(path, data, files[_i].size);
	memset(buf, 'G', sizeof(buf));
	r = io_read_file(path, buf, files[_i].cap);
	ck_assert_int_eq(r, files[_i].ret);
	if (r >= 0) {
		ck_assert_mem_eq(buf, data, (size_t)r);
		ck_assert_int_eq(buf[r], '\0');
	}
	if (files[_i].cap)
		ck_assert_int_eq(buf[files[_i].cap], 'G'); /* nothing past cap */
}
END_TEST

START_TEST(test_read_file_special)
{
	char buf[4096];
	char path[128];

	ck_assert_int_gt(io_read_file("/proc/self/stat", buf, sizeof(buf)), 10);
	ck_assert_int_eq(atoi(buf), getpid());
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	ck_assert_int_eq(io_read_file(path, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(io_read_file(tmpdir, buf, sizeof(buf)), -EISDIR);
}
END_TEST

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode;
}

START_TEST(test_mkdir_p)
{
	char path[300], file[256];
	mode_t old = umask(077);

	snprintf(path, sizeof(path), "%s/a/b//c/", tmpdir);
	ck_assert_int_eq(io_mkdir_p(path, 0751), 0);
	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	ck_assert(S_ISDIR(mode_of(path)));
	ck_assert_uint_eq(mode_of(path) & 07777, 0751);
	/* An existing directory is left as it is. */
	ck_assert_int_eq(chmod(path, 0700), 0);
	ck_assert_int_eq(io_mkdir_p(path, 0755), 0);
	ck_assert_uint_eq(mode_of(path) & 07777, 0700);
	/* A file in the way. */
	snprintf(file, sizeof(file), "%s/a/file", tmpdir);
	write_file(file, "x", 1);
	ck_assert_int_eq(io_mkdir_p(file, 0755), -ENOTDIR);
	snprintf(path, sizeof(path), "%s/sub", file);
	ck_assert_int_eq(io_mkdir_p(path, 0755), -ENOTDIR);
	ck_assert_int_eq(io_mkdir_p("", 0755), -EINVAL);
	umask(old);
}
END_TEST

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static const struct {
	unsigned mode;
	mode_t umask;
	const char *content;
} atomics[] = {
	{ 0600, 022, "state\n" },
	{ 0644, 077, "{\"sid\":1}\n" },
	{ 0640, 0, "" },
	{ 0400, 022, "read-only" },
};

START_TEST(test_write_atomic)
{
	char path[128], buf[64];
	mode_t old = umask(atomics[_i].umask);
	size_t len = strlen(atomics[_i].content);

	snprintf(path, sizeof(path), "%s/state.json", tmpdir);
	ck_assert_int_eq(io_write_atomic(path, "old contents", 12, 0600), 0);
	ck_assert_int_eq(io_write_atomic(path, atomics[_i].content, len, atomics[_i].mode), 0);
	ck_assert_uint_eq(mode_of(path) & 07777, atomics[_i].mode);
	ck_assert_int_eq(io_read_file(path, buf, sizeof(buf)), (ssize_t)len);
	ck_assert_str_eq(buf, atomics[_i].content);
	ck_assert_int_eq(count_entries(tmpdir), 1); /* no temp file left */
	umask(old);
}
END_TEST

START_TEST(test_write_atomic_fails)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nodir/state", tmpdir);
	ck_assert_int_eq(io_write_atomic(path, "x", 1, 0600), -ENOENT);
	/* rename onto a directory fails after the temp file exists: it goes. */
	snprintf(path, sizeof(path), "%s/isdir", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(io_write_atomic(path, "x", 1, 0600), -EISDIR);
	ck_assert_int_eq(count_entries(tmpdir), 1);
}
END_TEST

static Suite *io_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pipe_full);
	tcase_add_test(tc, test_write_errors);
	tcase_add_loop_test(tc, test_read_file, 0, sizeof(files) / sizeof(files[0]));
	tcase_add_test(tc, test_read_file_special);
	tcase_add_test(tc, test_mkdir_p);
	tcase_add_loop_test(tc, test_write_atomic, 0, sizeof(atomics) / sizeof(atomics[0]));
	tcase_add_test(tc, test_write_atomic_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(io_suite());
}
