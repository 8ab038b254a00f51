/* Unit tests for sessrecctl's store (store.c): which file names are shards
 * or their rotated siblings (logrotate's .N[.gz] and dateext), and how a
 * directory's files are ordered and chained: a day's shard after its
 * siblings, oldest first; another directory or day, another chain. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"

#define DAY1 1764547200 /* 2025-12-01 */

static const struct {
	const char *name;
	int ok;
	int64_t day;
	bool gz;
} names[] = {
	{ "sessions-2025-12-01.jsonl", 0, DAY1, false },
	{ "sessions-2025-12-01.jsonl.gz", 0, DAY1, true },
	{ "sessions-2025-12-01.jsonl.1", 0, DAY1, false },
	{ "sessions-2025-12-01.jsonl.2.gz", 0, DAY1, true },
	{ "sessions-2025-12-01.jsonl.123456789", 0, DAY1, false },
	{ "sessions-2025-12-01.jsonl-20251206", 0, DAY1, false },
	{ "sessions-2025-12-01.jsonl-20251206.gz", 0, DAY1, true },
	{ "sessions-2025-12-01.jsonl-2025120612", 0, DAY1, false },             /* dateformat -%Y%m%d%H */
	{ "sessions-2025-12-02.jsonl-20251206123456", 0, DAY1 + 86400, false }, /* 14 digits */
	{ "sessions-2025-12-01.jsonl.0", -1, 0, false },
	{ "sessions-2025-12-01.jsonl.01", -1, 0, false },
	{ "sessions-2025-12-01.jsonl.1234567890", -1, 0, false },
	{ "sessions-2025-12-01.jsonl.1.bak", -1, 0, false },
	{ "sessions-2025-12-01.jsonl.bak", -1, 0, false },
	{ "sessions-2025-12-01.jsonl.", -1, 0, false },
	{ "sessions-2025-12-01.jsonl-2025", -1, 0, false },
	{ "sessions-2025-12-01.jsonl-202512061234567", -1, 0, false },
	{ "sessions-2025-12-01.jsonl-20251206.gz.1", -1, 0, false },
	{ "sessions-2025-12-01.jsonl.gz.1", -1, 0, false },
	{ "sessions-2025-12-01.json", -1, 0, false },
	{ "sessions-2025-13-01.jsonl", -1, 0, false },
	{ "sessions-2025-12-1.jsonl", -1, 0, false },
	{ "auth-2025-12-01.jsonl", -1, 0, false },
};

START_TEST(test_names)
{
	int64_t day = -7;
	bool gz = !names[_i].gz;
	uint64_t seq;
	int rot;

	ck_assert_msg(store_shard_name(names[_i].name, &day, &gz, &rot, &seq) == names[_i].ok, "%s", names[_i].name);
	if (names[_i].ok == 0) {
		ck_assert_int_eq(day, names[_i].day);
		ck_assert_int_eq(gz, names[_i].gz);
	}
}
END_TEST

static void touch(const char *dir, const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

/* Two directories with the same day, and a second day: the files in
 * reading order, each chain oldest first, the day shard last. */
START_TEST(test_chains)
{
	static const char *const in_a[] = {
		"sessions-2025-12-01.jsonl",
		"sessions-2025-12-01.jsonl.1",
		"sessions-2025-12-01.jsonl.10.gz",
		"sessions-2025-12-01.jsonl.2.gz",
		"sessions-2025-12-01.jsonl.1.gz",
		"sessions-2025-12-01.jsonl-20251203.gz",
		"sessions-2025-12-01.jsonl-20251202",
		"sessions-2025-12-02.jsonl",
		"notes.txt",
	};
	static const char *const order[] = {
		"a/sessions-2025-12-01.jsonl-20251202", "a/sessions-2025-12-01.jsonl-20251203.gz",
		"a/sessions-2025-12-01.jsonl.10.gz",    "a/sessions-2025-12-01.jsonl.2.gz",
		"a/sessions-2025-12-01.jsonl.1.gz",     "a/sessions-2025-12-01.jsonl.1",
		"a/sessions-2025-12-01.jsonl",          "b/sessions-2025-12-01.jsonl",
		"a/sessions-2025-12-02.jsonl",
	};
	char top[64], a[96], b[96], cmd[128];
	struct ctl ctl = { .ndirs = 2 };
	struct store st;
	size_t nt;

	snprintf(top, sizeof(top), "/tmp/test_ctl_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	nt = strlen(top);
	snprintf(a, sizeof(a), "%s/a", top);
	snprintf(b, sizeof(b), "%s/b", top);
	ck_assert_int_eq(mkdir(a, 0700), 0);
	ck_assert_int_eq(mkdir(b, 0700), 0);
	for (size_t i = 0; i < sizeof(in_a) / sizeof(in_a[0]); i++)
		touch(a, in_a[i]);
	touch(b, "sessions-2025-12-01.jsonl");
	ctl.dirs[0] = a;
	ctl.dirs[1] = b;
	ck_assert_int_eq(store_open(&st, &ctl), 0);
	ck_assert_uint_eq(st.nfiles, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < st.nfiles; i++) {
		ck_assert_str_eq(st.files[i].path + nt + 1, order[i]);
		ck_assert_int_eq(st.files[i].gz, strstr(order[i], ".gz") != NULL);
	}
	for (size_t i = 0; i + 1 < 7; i++)
		ck_assert(store_same_chain(&st, i, i + 1));
	ck_assert(!store_same_chain(&st, 6, 7)); /* another directory */
	ck_assert(!store_same_chain(&st, 7, 8)); /* another day */
	ck_assert(!store_same_chain(&st, 8, 9)); /* past the end */
	store_close(&st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_names, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, test_chains);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
