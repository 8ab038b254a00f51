/* Unit tests for common/utf8: classification of sequences (RFC 3629 table,
 * every boundary byte) and U+FFFD replacement by maximal subparts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "testutil.h"

struct seq {
	const char *in;
	size_t n;
	int want; /* utf8_seq */
};

/* clang-format off */
static const struct seq seqs[] = {
	{ "a", 1, 1 }, { "\x7f", 1, 1 }, { "\x00", 1, 1 },
	{ "\xc2\x80", 2, 2 }, { "\xdf\xbf", 2, 2 }, { "\xc0\x80", 2, -1 }, { "\xc1\xbf", 2, -1 },
	{ "\xc2", 1, 0 }, { "\xc2\x41", 2, -1 }, { "\x80", 1, -1 }, { "\xbf", 1, -1 },
	{ "\xe0\xa0\x80", 3, 3 }, { "\xe0\x9f\xbf", 3, -1 }, { "\xe0\xa0", 2, 0 }, { "\xe0\xa0\x41", 3, -2 },
	{ "\xed\x9f\xbf", 3, 3 }, { "\xed\xa0\x80", 3, -1 }, /* surrogates */
	{ "\xef\xbf\xbd", 3, 3 }, { "\xef\xbf\xbf", 3, 3 },
	{ "\xf0\x90\x80\x80", 4, 4 }, { "\xf0\x8f\xbf\xbf", 4, -1 }, { "\xf4\x8f\xbf\xbf", 4, 4 },
	{ "\xf4\x90\x80\x80", 4, -1 }, { "\xf5\x80\x80\x80", 4, -1 }, { "\xff", 1, -1 }, { "\xfe", 1, -1 },
	{ "\xf0\x90\x80", 3, 0 }, { "\xf0\x90\x80\x41", 4, -3 },
};
/* clang-format on */

START_TEST(test_seq)
{
	const struct seq *s = &seqs[_i];

	ck_assert_int_eq(utf8_seq((const uint8_t *)s->in, s->n), s->want);
}
END_TEST

struct san {
	const char *in;
	const char *out;
	size_t valid; /* utf8_valid_len */
};

/* clang-format off */
static const struct san sans[] = {
	{ "plain", "plain", 5 },
	{ "caf\xc3\xa9", "caf\xc3\xa9", 5 },
	{ "a\xff" "b", "a\xef\xbf\xbd" "b", 1 },
	{ "\xe2\x82", "\xef\xbf\xbd", 0 },
	{ "\xe2\x82x", "\xef\xbf\xbdx", 0 },
	{ "\xf0\x90\x80\x41", "\xef\xbf\xbd" "A", 0 },
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0 },
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", 0 },
	{ "ok\xe2\x82\xac\xe2", "ok\xe2\x82\xac\xef\xbf\xbd", 5 },
};
/* clang-format on */

START_TEST(test_sanitize)
{
	const struct san *s = &sans[_i];
	size_t n = strlen(s->in);
	uint8_t *out = malloc(3 * n + 1);
	size_t k = utf8_sanitize(out, (const uint8_t *)s->in, n);

	ck_assert_uint_eq(k, strlen(s->out));
	ck_assert_mem_eq(out, s->out, k);
	ck_assert_uint_eq(utf8_valid_len((const uint8_t *)s->in, n), s->valid);
	ck_assert_uint_eq(utf8_valid_len(out, k), k);
	free(out);
}
END_TEST

/* Clips never cut a character: "é" is c3 a9, "€" e2 82 ac. */
static const struct {
	const char *s;
	size_t max, want;
} clips[] = {
	{ "abc", 3, 3 },
	{ "abc", 5, 3 },
	{ "abc", 2, 2 },
	{ "ab\xc3\xa9", 3, 2 },
	{ "ab\xc3\xa9", 4, 4 },
	{ "\xe2\x82\xac", 2, 0 },
	{ "\xe2\x82\xac", 1, 0 },
	{ "x\xe2\x82\xacy", 3, 1 },
	{ "x\xe2\x82\xacy", 4, 4 },
	{ "abc", 0, 0 },
};

START_TEST(test_clip)
{
	const char *s = clips[_i].s;

	ck_assert_uint_eq(utf8_clip((const uint8_t *)s, strlen(s), clips[_i].max), clips[_i].want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("utf8");

	tcase_add_loop_test(tc, test_seq, 0, (int)(sizeof(seqs) / sizeof(seqs[0])));
	tcase_add_loop_test(tc, test_sanitize, 0, (int)(sizeof(sans) / sizeof(sans[0])));
	tcase_add_loop_test(tc, test_clip, 0, (int)(sizeof(clips) / sizeof(clips[0])));
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
