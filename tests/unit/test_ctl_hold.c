/* Unit tests for sessrecctl/hold.c, the legal hold list of retention:
 * entries separated by commas and blanks, comments, the file (missing:
 * nothing held; unreadable: an error), and which sessions an entry holds
 * (the whole sid, a prefix of 8 or more, the user). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold.h"
#include "testutil.h"

#define SID "3f2c9a41-58cf-4f5e-9a4e-2b5a3a0c9d11"

START_TEST(test_parse)
{
	struct hold h = { 0 };

	ck_assert_int_eq(hold_add_text(&h, " alice,bob\t carol ,\n# a comment, not held\n" SID "# case 7\n,,\n"), 0);
	ck_assert_uint_eq(h.n, 4);
	ck_assert_str_eq(h.v[0], "alice");
	ck_assert_str_eq(h.v[1], "bob");
	ck_assert_str_eq(h.v[2], "carol");
	ck_assert_str_eq(h.v[3], SID);
	hold_free(&h);
	ck_assert_uint_eq(h.n, 0);
}
END_TEST

START_TEST(test_match)
{
	struct hold h = { 0 };

	ck_assert_int_eq(hold_add_text(&h, "alice 3f2c9a41 3f2c 9d11"), 0);
	/* a prefix of 8 holds; a shorter one or a suffix does not */
	ck_assert_str_eq(hold_match(&h, SID, strlen(SID), "bob"), "3f2c9a41");
	ck_assert_ptr_null(hold_match(&h, "3f2c0000-0000-4000-8000-000000009d11", 36, "bob"));
	/* the user, whatever the sid */
	ck_assert_str_eq(hold_match(&h, "0000", 4, "alice"), "alice");
	ck_assert_ptr_null(hold_match(&h, "0000", 4, NULL));
	/* a whole sid, even a short one; not a longer one */
	ck_assert_str_eq(hold_match(&h, "3f2c", 4, NULL), "3f2c");
	ck_assert_ptr_null(hold_match(&h, "3f2", 3, NULL));
	/* sid is not terminated: only sid_len bytes count */
	ck_assert_ptr_null(hold_match(&h, "3f2c9a41", 7, NULL));
	hold_free(&h);
}
END_TEST

START_TEST(test_load)
{
	char dir[] = "/tmp/test_ctl_hold.XXXXXX", path[64];
	struct hold h = { 0 };
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/legal-hold", dir);
	/* missing file: the inline list only */
	ck_assert_int_eq(hold_load(&h, "alice", path), 0);
	ck_assert_uint_eq(h.n, 1);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("# held for case 4711\nbob\n" SID "\n", f);
	fclose(f);
	ck_assert_int_eq(hold_load(&h, "", path), 0);
	ck_assert_uint_eq(h.n, 3);
	ck_assert_str_eq(h.v[2], SID);
	hold_free(&h);
	/* a directory where the file should be: an error, not an empty list */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_lt(hold_load(&h, NULL, path), 0);
	hold_free(&h);
	ck_assert_int_eq(hold_load(&h, "x", NULL), 0);
	ck_assert_uint_eq(h.n, 1);
	hold_free(&h);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl_hold");
	TCase *tc = tcase_create("hold");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
