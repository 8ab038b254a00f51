/* Unit tests for the block path of common/shardline (valid text taken many
 * bytes at once): every event line must be exactly what the item-by-item
 * escaper shard_json_escape makes of the same bytes (with the ESC stand-in
 * where it pays, shardline_model.h), whatever a sequence's position in a
 * block, whatever lead/second byte, wherever a line ends. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "shardline.h"
#include "shardx1b.h"
#include "utf8.h"
#include "testutil.h"
#include "../common/shardline_model.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define CTX 160 /* input of one line: long enough for a few blocks */
#define OFFSETS 100

/* {"sid":...,"d":"  for sid SID, t and channel 'o'. */
static size_t prefix(char *out, double t)
{
	size_t n = (size_t)sprintf(out, "{\"sid\":\"" SID "\",\"t\":");

	n += shard_format_t(out + n, t);
	memcpy(out + n, ",\"ch\":\"o\",\"d\":\"", 15);
	return n + 15;
}

/* p[0..n) (no incomplete tail) encoded alone must be one line: the escaped
 * text, and raw exactly when p is not valid UTF-8. */
static void expect_one_line(const uint8_t *p, size_t n)
{
	struct shard_utf8 carry = { 0 };
	struct shardline_model_lines got = { 0 };
	char want[SHARD_LINE_MAX + 64], pre[128], dx[6 * CTX], dp[6 * CTX];
	size_t np = prefix(pre, 0.5), k = 0, w;
	bool x = memmem(p, n, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN) == NULL;

	for (size_t i = 0; i < n; i++)
		k += p[i] == 0x1b;
	REQUIRE(n <= CTX);
	w = shardline_model_line(want, pre, np, x, k, dx, shardline_model_d(dx, p, n, true), dp,
				 shardline_model_d(dp, p, n, false));
	want[w++] = '"';
	if (utf8_valid_len(p, n) < n) {
		memcpy(want + w, ",\"raw\":\"", 8);
		w += 8;
		w += b64_encode(want + w, p, n);
		want[w++] = '"';
	}
	memcpy(want + w, "}\n", 3);
	w += 2;
	REQUIRE(shard_encode_event(&carry, SID, 0.5, 'o', p, n, shardline_model_collect, &got) == 0);
	REQUIRE(carry.len == 0);
	if (got.count != 1 || !shardline_model_got(&got, want, w))
		ck_abort_msg("got  %s\nwant %.*s", got.buf ? got.buf : "", (int)w, want);
	free(got.buf);
}

/* Sequences to place at every offset of a block: escapes, valid characters
 * of each length and of each lead with a narrower second byte, and invalid
 * ones (overlong, surrogate, above U+10FFFF, stray, truncated). */
/* clang-format off */
static const struct seq {
	const char *s;
	size_t n;
} seqs[] = {
#define S(x) { x, sizeof(x) - 1 }
	S("\x1b"), S("\r\n"), S("\t"), S("\""), S("\\"), S("\x7f"), S("\x00"),
	S("\x1b[1;31m"), S("\xc3\xa9"), S("\xc2\x80"), S("\xdf\xbf"), S("\xe2\x82\xac"),
	S("\xe0\xa0\x80"), S("\xed\x9f\xbf"), S("\xef\xbf\xbf"), S("\xf0\x90\x80\x80"),
	S("\xf0\x9f\x98\x80"), S("\xf3\xbf\xbf\xbf"), S("\xf4\x8f\xbf\xbf"),
	S("\xe6\x97\xa5\xe6\x9c\xac"), S("\xc3\xa9\x1b\xc3\xa9"), S("\xc0\xaf"), S("\xc1\xbf"),
	S("\xe0\x9f\xbf"), S("\xed\xa0\x80"), S("\xf0\x8f\xbf\xbf"), S("\xf4\x90\x80\x80"),
	S("\xf5\x80\x80\x80"), S("\xff"), S("\x80"), S("\xbf"), S("\xc3\xa9\xa9"),
	S("\xc3x"), S("\xe2\x82x"), S("\xf0\x9f\x98x"), S("\xe2\xc3\xa9"), S("\xf0\xe2\x82\xac"),
	/* a real U+241B (no stand-in in its line), and others with its bytes */
	S("\xe2\x90\x9b"), S("\x1b\xe2\x90\x9b\x1b"), S("\xe2\x90\x9c"), S("\xd0\x9b"), S("\xe2\x9b\x90"),
	S("\xe2\x90\x9b\xff"),
#undef S
};
/* clang-format on */

/* Backgrounds the sequence is written over: plain ASCII, and terminal text
 * (whose characters the sequence may cut: more invalid cases). */
static void background(uint8_t *p, size_t n, int kind)
{
	static const char text[] = "ab \xc3\xa9\x1b[32mcd\r\n\xe2\x94\x80\t\xf0\x9f\x98\x80 ef";

	for (size_t i = 0; i < n; i++)
		p[i] = kind ? (uint8_t)text[i % (sizeof(text) - 1)] : (uint8_t)('a' + i % 26);
}

START_TEST(test_seq_every_offset)
{
	const struct seq *q = &seqs[_i];
	uint8_t p[CTX];

	for (int kind = 0; kind < 2; kind++)
		for (size_t off = 0; off < OFFSETS; off++) {
			background(p, sizeof(p), kind);
			memcpy(p + off, q->s, q->n);
			/* End on whole ASCII: no incomplete tail to carry. */
			memset(p + sizeof(p) - 4, 'z', 4);
			expect_one_line(p, sizeof(p));
		}
}
END_TEST

/* Every lead byte with every second byte (then two continuation bytes),
 * near the start, across the ends of 16, 32 and 48-byte blocks. */
START_TEST(test_lead_second)
{
	static const size_t offs[] = { 0, 13, 15, 29, 31, 44, 45, 46, 47, 62, 63, 90 };
	uint8_t p[CTX];

	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
		for (unsigned b = 0; b < 256; b++) {
			background(p, sizeof(p), 0);
			p[offs[o]] = (uint8_t)_i;
			p[offs[o] + 1] = (uint8_t)b;
			p[offs[o] + 2] = 0x80;
			p[offs[o] + 3] = 0xbf;
			expect_one_line(p, sizeof(p));
		}
}
END_TEST

/* Valid text over many lines: each line must be as full as the greedy
 * rule makes it (what shard_json_escape takes into d's room), so where
 * a line ends inside a block changes nothing. */
static void expect_lines_greedy(const uint8_t *p, size_t n, double t)
{
	struct shard_utf8 carry = { 0 };
	struct shardline_model_lines got = { 0 };
	size_t w = 0;
	char *want = shardline_model(SID, t, 'o', p, n, &w);

	REQUIRE(want != NULL);
	REQUIRE(shard_encode_event(&carry, SID, t, 'o', p, n, shardline_model_collect, &got) == 0);
	REQUIRE(carry.len == 0);
	REQUIRE(shardline_model_got(&got, want, w));
	free(got.buf);
	free(want);
}

/* Pieces of terminal output; a test input is a prefix of _i ASCII bytes
 * (shifting where lines end) then pieces picked by a fixed LCG. */
/* clang-format off */
static const struct seq pieces[] = {
#define S(x) { x, sizeof(x) - 1 }
	S("the "), S("quick "), S("\x1b[1;31m"), S("\x1b[0m"), S("\r\n"), S("\t"),
	S("caf\xc3\xa9 "), S("\xe2\x86\x92"), S("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
	S("\xf0\x9f\x9a\x80"), S("\"q\" "), S("\\p "), S("\x00\x01\x02\x7f"),
	S("\xed\x9f\xbf\xe0\xa0\x80\xf4\x8f\xbf\xbf"),
#undef S
};
/* clang-format on */

START_TEST(test_line_ends)
{
	size_t n = 30000, o = 0;
	uint8_t *p = malloc(n);
	unsigned seed = 1000u + (unsigned)_i;

	REQUIRE(p != NULL);
	memset(p, 'k', (size_t)_i);
	o = (size_t)_i;
	for (;;) {
		const struct seq *q;

		seed = seed * 1103515245u + 12345u;
		q = &pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
		if (q->n > n - o)
			break;
		memcpy(p + o, q->s, q->n);
		o += q->n;
	}
	expect_lines_greedy(p, o, 0.5);
	expect_lines_greedy(p, o, 123456.75); /* a longer prefix: other ends */
	free(p);
}
END_TEST

static Suite *shardline_fast_suite(void)
{
	Suite *s = suite_create("shardline_fast");
	TCase *tc = tcase_create("blocks");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_seq_every_offset, 0, sizeof(seqs) / sizeof(seqs[0]));
	tcase_add_loop_test(tc, test_lead_second, 0x80, 0x100);
	tcase_add_loop_test(tc, test_line_ends, 0, 100);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(shardline_fast_suite());
}
