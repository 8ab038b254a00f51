/* Unit tests for common/shells: names, contents, the round trip, and the
 * StrictModes-style refusals (group-writable directory, symlink, wrong
 * mode, two links) on a directory of root's (the tests run as root). */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shells.h"
#include "testutil.h"

static char dir[PATH_MAX], sub[PATH_MAX + 16];

/* In the working directory (under /tmp too: a sticky root-owned parent is
 * trusted, as for the shard directory). */
static void setup(void)
{
	char cwd[PATH_MAX - 32];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(dir, sizeof(dir), "%s/test_shells.XXXXXX", cwd);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/shells.d", dir);
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_names)
{
	ck_assert(shells_user_ok("alice"));
	ck_assert(!shells_user_ok(""));
	ck_assert(!shells_user_ok(".."));
	ck_assert(!shells_user_ok("a/b"));
	ck_assert(!shells_user_ok("a\nb"));
	ck_assert(shells_path_ok("/bin/bash"));
	ck_assert(!shells_path_ok("bash"));
	ck_assert(!shells_path_ok("/bin/ba\nsh"));
	ck_assert(!shells_path_ok("/"));
}
END_TEST

START_TEST(test_roundtrip)
{
	char buf[PATH_MAX], why[256], path[PATH_MAX + 64];
	struct stat st;

	if (geteuid() != 0)
		return; /* the trust checks want root's files */
	ck_assert_int_eq(shells_read(sub, "alice", buf, sizeof(buf), why, sizeof(why)), -ENOENT);
	ck_assert_int_eq(shells_write(sub, "alice", "/bin/zsh"), 0);
	snprintf(path, sizeof(path), "%s/alice", sub);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(shells_read(sub, "alice", buf, sizeof(buf), why, sizeof(why)), 0);
	ck_assert_str_eq(buf, "/bin/zsh");
	ck_assert_int_eq(shells_read(sub, "bob", buf, sizeof(buf), why, sizeof(why)), -ENOENT);
	ck_assert_int_eq(shells_write(sub, "a/b", "/bin/sh"), -EINVAL);
	ck_assert_int_eq(shells_write(sub, "bob", "sh"), -EINVAL);
	/* a group-writable file, then a group-writable directory */
	ck_assert_int_eq(chmod(path, 0664), 0);
	ck_assert_int_eq(shells_read(sub, "alice", buf, sizeof(buf), why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "not a file of root's alone"));
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(chmod(dir, 0775), 0);
	ck_assert_int_eq(shells_read(sub, "alice", buf, sizeof(buf), why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "not a directory of root's alone"));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(shells_remove(sub, "alice"), 0);
	ck_assert_int_eq(shells_remove(sub, "alice"), -ENOENT);
}
END_TEST

START_TEST(test_links_and_content)
{
	char buf[PATH_MAX], why[256], path[PATH_MAX + 64], other[PATH_MAX + 64];
	FILE *f;

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(shells_write(sub, "alice", "/bin/sh"), 0);
	snprintf(path, sizeof(path), "%s/alice", sub);
	snprintf(other, sizeof(other), "%s/bob", sub);
	ck_assert_int_eq(symlink(path, other), 0);
	ck_assert_int_eq(shells_read(sub, "bob", buf, sizeof(buf), why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "symbolic link"));
	ck_assert_int_eq(unlink(other), 0);
	ck_assert_int_eq(link(path, other), 0);
	ck_assert_int_eq(shells_read(sub, "bob", buf, sizeof(buf), why, sizeof(why)), -EPERM);
	ck_assert_int_eq(unlink(other), 0);
	/* two lines, a relative path: refused as content */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("/bin/sh\n/bin/bash\n", f);
	fclose(f);
	ck_assert_int_eq(shells_read(sub, "alice", buf, sizeof(buf), why, sizeof(why)), -EINVAL);
	/* the last line may lack its newline */
	f = fopen(path, "w");
	fputs("/bin/dash", f);
	fclose(f);
	ck_assert_int_eq(shells_read(sub, "alice", buf, sizeof(buf), why, sizeof(why)), 0);
	ck_assert_str_eq(buf, "/bin/dash");
	ck_assert_int_eq(shells_read(sub, "alice", buf, 5, why, sizeof(why)), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shells");
	TCase *tc = tcase_create("shells");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_links_and_content);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
