/* Unit tests for sessrecd/shardtrust: the shard directory and every parent
 * must be root-owned and not group/other-writable (a sticky parent may be),
 * an existing shard a root-owned regular file, one link, 0640 or stricter;
 * each refusal is one line naming the path at fault. Runs as root (it
 * chowns); skipped otherwise. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shardtrust.h"
#include "testutil.h"

static char base[64];

static void setup(void)
{
	snprintf(base, sizeof(base), "/tmp/shardtrust-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	ck_assert_int_eq(chmod(base, 0755), 0);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	ck_assert_int_eq(system(cmd), 0);
}

static void sub(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", base, name);
}

START_TEST(test_root_dir_trusted)
{
	char d[256], why[512] = "";

	sub(d, sizeof(d), "shards");
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), 0);
	ck_assert_int_eq(chmod(d, 0755), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_dir_writable_refused)
{
	char d[256], why[512], want[1024];

	sub(d, sizeof(d), "shards");
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(chmod(d, 0720), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), -EPERM);
	snprintf(want, sizeof(want), "untrusted shard directory %s: %s is writable by group or others (mode 0720)", d,
		 d);
	ck_assert_str_eq(why, want);
	/* Sticky does not excuse the shard directory itself. */
	ck_assert_int_eq(chmod(d, 01777), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), -EPERM);
}
END_TEST

START_TEST(test_owner_refused)
{
	char d[256], why[512], want[1024];

	sub(d, sizeof(d), "shards");
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(chown(d, 65534, 65534), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), -EPERM);
	snprintf(want, sizeof(want), "untrusted shard directory %s: %s is owned by uid 65534, not root", d, d);
	ck_assert_str_eq(why, want);
}
END_TEST

START_TEST(test_parents)
{
	char p[128], d[256], why[512];

	sub(p, sizeof(p), "p");
	snprintf(d, sizeof(d), "%s/shards", p);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(chmod(p, 0775), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "p is writable by group or others (mode 0775)"));
	/* Sticky and root-owned, like /tmp: accepted. */
	ck_assert_int_eq(chmod(p, 01777), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), 0);
	/* Sticky but a user's: refused. */
	ck_assert_int_eq(chown(p, 65534, 65534), 0);
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "p is owned by uid 65534, not root"));
}
END_TEST

START_TEST(test_symlinked_dir_checks_target)
{
	char p[128], d[256], l[256], why[512];

	sub(p, sizeof(p), "p");
	snprintf(d, sizeof(d), "%s/shards", p);
	sub(l, sizeof(l), "link");
	ck_assert_int_eq(mkdir(p, 0777), 0);
	ck_assert_int_eq(chmod(p, 0777), 0);
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(symlink(d, l), 0);
	ck_assert_int_eq(shardtrust_dir(l, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "p is writable by group or others (mode 0777)"));
}
END_TEST

START_TEST(test_missing_dir)
{
	char d[256], why[512];

	sub(d, sizeof(d), "nope");
	ck_assert_int_eq(shardtrust_dir(d, why, sizeof(why)), -ENOENT);
}
END_TEST

START_TEST(test_file)
{
	char f[256], g[256], why[512];
	struct stat st;
	int fd;

	sub(f, sizeof(f), "sessions.jsonl");
	sub(g, sizeof(g), "other");
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0640), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(shardtrust_file(&st, f, why, sizeof(why)), 0);
	ck_assert_int_eq(fchmod(fd, 0400), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(shardtrust_file(&st, f, why, sizeof(why)), 0);
	ck_assert_int_eq(fchmod(fd, 0660), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(shardtrust_file(&st, f, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "mode 0660, not 0640 or stricter"));
	ck_assert_int_eq(fchmod(fd, 0640), 0);
	ck_assert_int_eq(link(f, g), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(shardtrust_file(&st, f, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "2 links, not 1"));
	ck_assert_int_eq(unlink(g), 0);
	ck_assert_int_eq(fchown(fd, 65534, 0), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(shardtrust_file(&st, f, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "owned by uid 65534, not root"));
	close(fd);
	ck_assert_int_eq(stat(base, &st), 0);
	ck_assert_int_eq(shardtrust_file(&st, base, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
}
END_TEST

START_TEST(test_fs_shared)
{
	const char *shared = NULL;

	/* base is under /tmp: the same filesystem whatever it is. */
	ck_assert(shardtrust_fs_shared(base, &shared));
	ck_assert_str_eq(shared, "/tmp");
	ck_assert(!shardtrust_fs_shared("/proc", &shared));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shardtrust");
	TCase *tc = tcase_create("core");

	if (geteuid() != 0) {
		fprintf(stderr, "shardtrust: needs root (chown); skipped\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_root_dir_trusted);
	tcase_add_test(tc, test_dir_writable_refused);
	tcase_add_test(tc, test_owner_refused);
	tcase_add_test(tc, test_parents);
	tcase_add_test(tc, test_symlinked_dir_checks_target);
	tcase_add_test(tc, test_missing_dir);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_fs_shared);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
