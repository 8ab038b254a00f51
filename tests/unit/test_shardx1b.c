/* Unit tests for common/shardx1b, the ESC stand-in of event lines: exact
 * lines where it pays and where it does not (a real U+241B, too few ESCs,
 * escaped backslashes before "u001b" text, raw lines), and the round trip
 * of encoder output through both readers of shardread (fast path and
 * json-c), bytes and text, including lines written before the member
 * existed and hostile lines that misuse it. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardline.h"
#include "shardread.h"
#include "shardx1b.h"
#include "utf8.h"
#include "testutil.h"
#include "../common/shardline_model.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define ST "\xe2\x90\x9b" /* the stand-in, U+241B */
#define PRE "{\"sid\":\"" SID "\",\"t\":0.250000,\"ch\":\"o\","
#define L(d) PRE "\"d\":\"" d "\"}\n"
#define LX(d) PRE "\"x1b\":\"" ST "\",\"d\":\"" d "\"}\n"
#define LXR(d, r) PRE "\"x1b\":\"" ST "\",\"d\":\"" d "\",\"raw\":\"" r "\"}\n"

/* What both readers give back of every line, concatenated. */
struct got {
	uint8_t bytes[1 << 18], text[1 << 18];
	size_t nbytes, ntext, lines, x1b_lines;
	char first[SHARD_LINE_MAX + 1];
};

/* One line through the fast path and json-c: both must agree on the bytes
 * and the text, and the decoded text never holds the stand-in. */
static void read_both(struct got *g, const char *line, size_t len)
{
	struct shardread_line fast, slow, dec;
	uint8_t a[SHARDREAD_DECODE_MAX(SHARD_LINE_MAX)], b[SHARDREAD_DECODE_MAX(SHARD_LINE_MAX)];
	ssize_t x, y;

	len--; /* without its '\n', as readers get lines */
	REQUIRE(shardread_event(line, len, &fast) == 0);
	REQUIRE(shardread_parse(line, len, &slow) == 0 && slow.kind == SHARDREAD_EVENT);
	REQUIRE(fast.x1b == slow.x1b);
	g->x1b_lines += fast.x1b;
	x = shardread_bytes(&fast, a, sizeof(a));
	y = shardread_bytes(&slow, b, sizeof(b));
	REQUIRE(x > 0 && x == y && memcmp(a, b, (size_t)x) == 0);
	y = shardread_event_decode(line, len, &dec, b, sizeof(b), true);
	REQUIRE(x == y && memcmp(a, b, (size_t)x) == 0);
	REQUIRE(g->nbytes + (size_t)x <= sizeof(g->bytes));
	memcpy(g->bytes + g->nbytes, a, (size_t)x);
	g->nbytes += (size_t)x;
	x = shardread_text(&fast, a, sizeof(a));
	y = shardread_text(&slow, b, sizeof(b));
	REQUIRE(x > 0 && x == y && memcmp(a, b, (size_t)x) == 0);
	y = shardread_event_decode(line, len, &dec, b, sizeof(b), false);
	REQUIRE(x == y && memcmp(a, b, (size_t)x) == 0);
	REQUIRE(!fast.x1b || !memmem(a, (size_t)x, ST, 3));
	REQUIRE(g->ntext + (size_t)x <= sizeof(g->text));
	memcpy(g->text + g->ntext, a, (size_t)x);
	g->ntext += (size_t)x;
	shardread_release(&slow);
}

static int collect(void *userdata, const char *line, size_t len)
{
	struct got *g = userdata;

	REQUIRE(len < SHARD_LINE_MAX && line[len - 1] == '\n');
	if (g->lines++ == 0) {
		memcpy(g->first, line, len);
		g->first[len] = 0;
	}
	read_both(g, line, len);
	return 0;
}

static struct got *encode(const void *p, size_t n)
{
	struct shard_utf8 carry = { 0 };
	struct got *g = calloc(1, sizeof(*g));

	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(shard_encode_event(&carry, SID, 0.25, 'o', p, n, collect, g), 0);
	ck_assert_int_eq(shard_encode_flush(&carry, SID, 0.25, 'o', collect, g), 0);
	/* what the session printed is what comes back, byte for byte */
	ck_assert_uint_eq(g->nbytes, n);
	REQUIRE(memcmp(g->bytes, p, n) == 0);
	return g;
}

/* clang-format off */
#define G(in, line) { in, sizeof(in) - 1, line }
static const struct golden {
	const char *in;
	size_t n;
	const char *line;
} goldens[] = {
	/* five ESCs save 15 bytes, the member costs 12: it pays */
	G("\x1b[1m\x1b[0m\x1b[K\x1b[A\x1b" "B", LX(ST "[1m" ST "[0m" ST "[K" ST "[A" ST "B")),
	/* the shortest d that pays: five ESCs alone */
	G("\x1b\x1b\x1b\x1b\x1b", LX(ST ST ST ST ST)),
	/* four save 12: not shorter, so not used */
	G("\x1b[1m\x1b[0m\x1b[K\x1b[A", L("\\u001b[1m\\u001b[0m\\u001b[K\\u001b[A")),
	/* a real U+241B in the output: the line is written the old way */
	G("\x1b\x1b\x1b\x1b\x1b\x1b" ST, L("\\u001b\\u001b\\u001b\\u001b\\u001b\\u001b" ST)),
	/* the text \u001b after an escaped backslash is text, not an ESC */
	G("\\u001b\\u001b\\u001b\\u001b\\u001b\\u001b",
	  L("\\\\u001b\\\\u001b\\\\u001b\\\\u001b\\\\u001b\\\\u001b")),
	G("\x1b\x1b\x1b\x1b\x1b\\u001b\r\n\"", LX(ST ST ST ST ST "\\\\u001b\\r\\n\\\"")),
	/* other controls keep their escapes */
	G("\x1b\x01\x1b\x7f\x1b\t\x1b\x1b", LX(ST "\\u0001" ST "\\u007f" ST "\\t" ST ST)),
	/* not UTF-8: d has U+FFFD and the stand-ins, raw the exact bytes */
	G("\x1b\x1b\x1b\xff\x1b\x1b", LXR(ST ST ST "\xef\xbf\xbd" ST ST, "Gxsb/xsb")),
	/* ... and a real U+241B next to invalid bytes keeps the old way */
	G("\x1b\x1b\x1b\xff\x1b\x1b\x1b" ST,
	  PRE "\"d\":\"\\u001b\\u001b\\u001b\xef\xbf\xbd\\u001b\\u001b\\u001b" ST "\",\"raw\":\"Gxsb/xsbG+KQmw==\"}\n"),
};
#undef G
/* clang-format on */

START_TEST(test_golden)
{
	const struct golden *gd = &goldens[_i];
	struct got *g = encode(gd->in, gd->n);

	ck_assert_uint_eq(g->lines, 1);
	ck_assert_str_eq(g->first, gd->line);
	free(g);
}
END_TEST

/* Terminal output heavy with ESC, real U+241B now and then, invalid bytes
 * now and then, split into reads everywhere: every byte comes back, lines
 * with and without the stand-in both occur. */
START_TEST(test_mixed_roundtrip)
{
	static const char *const pieces[] = {
		"\x1b[1;31m", "\x1b[0m", "text ", "\r\n", ST, "caf\xc3\xa9 ", "\xff", "\x1b]0;t\x07", "\\u001b", "\xe2\x90",
	};
	static const size_t steps[] = { 200000, 1, 97, 1000, 4096, 333 };
	size_t n = 0, cap = 120000, step = steps[_i];
	uint8_t *p = malloc(cap);
	unsigned seed = 7 + (unsigned)_i;
	struct shard_utf8 carry = { 0 };
	struct got *g = calloc(1, sizeof(*g));

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(g);
	for (;;) {
		const char *q;

		seed = seed * 1103515245u + 12345u;
		/* real stand-ins and invalid bytes rarely (odd _i only), so
		 * many lines pay */
		if (_i % 2 && (seed >> 8) % 300 == 0)
			q = pieces[4 + (seed >> 16) % 6];
		else
			q = pieces[(seed >> 16) % 4];
		if (n + strlen(q) > cap)
			break;
		memcpy(p + n, q, strlen(q));
		n += strlen(q);
	}
	for (size_t at = 0; at < n; at += step) {
		size_t k = n - at < step ? n - at : step;

		ck_assert_int_eq(shard_encode_event(&carry, SID, 1, 'o', p + at, k, collect, g), 0);
	}
	ck_assert_int_eq(shard_encode_flush(&carry, SID, 2, 'o', collect, g), 0);
	ck_assert_uint_eq(g->nbytes, n);
	REQUIRE(memcmp(g->bytes, p, n) == 0);
	if (step > 64) /* smaller reads have too few ESCs a line to pay */
		ck_assert_uint_gt(g->x1b_lines, 0);
	if (_i % 2)
		ck_assert_uint_lt(g->x1b_lines, g->lines);
	free(g);
	free(p);
}
END_TEST

/* Real U+241Bs where lines end: a plain line (it has one) full right
 * before the next real one, which must not start a stand-in line; and a
 * stand-in line too full to turn plain, which ends before the real one.
 * Every phase of the line end (pad), against the model and both readers. */
START_TEST(test_real_at_line_ends)
{
	static const struct {
		const char *unit, *tail;
	} shapes[] = { { ST "\x1b", "" }, { "\x1b\x1b" ST "\x1b", "" }, { "\x1b", ST "\x1b\x1b\x1b\x1b\x1b" } };
	size_t cap = 20000, n = 0, w = 0, pad = (size_t)_i % 9;
	uint8_t *p = malloc(cap);
	struct shard_utf8 carry = { 0 };
	struct shardline_model_lines all = { 0 };
	struct got *g;
	char *want;

	ck_assert_ptr_nonnull(p);
	memset(p, 'a', pad);
	n = pad;
	for (size_t u = strlen(shapes[_i / 9].unit); n + u + 16 <= cap && n < 12000; n += u)
		memcpy(p + n, shapes[_i / 9].unit, u);
	memcpy(p + n, shapes[_i / 9].tail, strlen(shapes[_i / 9].tail));
	n += strlen(shapes[_i / 9].tail);
	g = encode(p, n);
	ck_assert_uint_gt(g->lines, 1);
	want = shardline_model(SID, 0.25, 'o', p, n, &w);
	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(shard_encode_event(&carry, SID, 0.25, 'o', p, n, shardline_model_collect, &all), 0);
	ck_assert_uint_eq(all.len, w);
	REQUIRE(shardline_model_got(&all, want, w));
	free(all.buf);
	free(want);
	free(g);
	free(p);
}
END_TEST

/* Lines from before the member: a real U+241B is itself; lines with it in
 * another order go through json-c; hostile values are not event lines. */
START_TEST(test_reader_lines)
{
	static const char old_line[] = PRE "\"d\":\"a" ST "\\u001b\"}";
	static const char reordered[] = PRE "\"d\":\"a" ST "b\",\"x1b\":\"" ST "\"}";
	static const char escaped[] = PRE "\"x1b\":\"\\u241b\",\"d\":\"a\\u241b\"}";
	static const char *const bad[] = {
		PRE "\"x1b\":\"E\",\"d\":\"a\"}",
		PRE "\"x1b\":\"" ST ST "\",\"d\":\"a\"}",
		PRE "\"x1b\":true,\"d\":\"a\"}",
		PRE "\"x1b\":\"\",\"d\":\"a\"}",
	};
	struct shardread_line l;
	uint8_t out[256];
	ssize_t n;

	ck_assert_int_eq(shardread_event(old_line, strlen(old_line), &l), 0);
	ck_assert(!l.x1b);
	n = shardread_bytes(&l, out, sizeof(out));
	ck_assert_int_eq(n, 5);
	REQUIRE(memcmp(out, "a" ST "\x1b", 5) == 0);

	ck_assert_int_eq(shardread_event(reordered, strlen(reordered), &l), -EAGAIN);
	ck_assert_int_eq(shardread_parse(reordered, strlen(reordered), &l), 0);
	ck_assert(l.x1b);
	n = shardread_bytes(&l, out, sizeof(out));
	ck_assert_int_eq(n, 3);
	REQUIRE(memcmp(out, "a\x1b" "b", 3) == 0);
	shardread_release(&l);

	/* the member's value escaped is the same string to JSON */
	ck_assert_int_eq(shardread_parse(escaped, strlen(escaped), &l), 0);
	ck_assert(l.x1b);
	n = shardread_text(&l, out, sizeof(out));
	ck_assert_int_eq(n, 2);
	REQUIRE(memcmp(out, "a\x1b", 2) == 0);
	shardread_release(&l);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(shardread_event(bad[i], strlen(bad[i]), &l), -EAGAIN);
		ck_assert_int_eq(shardread_parse(bad[i], strlen(bad[i]), &l), -EBADMSG);
	}
}
END_TEST

/* The encoder's way back to a plain d: every stand-in (and nothing that
 * only starts like one) becomes "\u001b", wherever it is. */
START_TEST(test_unstand)
{
	/* clang-format off */
	static const struct { const char *in, *out; size_t k; } cases[] = {
		{ "", "", 0 }, { "abc", "abc", 0 }, { ST, "\\u001b", 1 },
		{ "a" ST "b" ST, "a\\u001bb\\u001b", 2 },
		{ ST ST ST ST, "\\u001b\\u001b\\u001b\\u001b", 4 },
		{ "\xe2\x90" ST "\xe2\x82\xac", "\xe2\x90\\u001b\xe2\x82\xac", 1 },
		{ "\xe2\x94\x80" ST "\\\\x" ST "\xe2", "\xe2\x94\x80\\u001b\\\\x\\u001b\xe2", 2 },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		size_t n = strlen(cases[i].in);

		memcpy(buf, cases[i].in, n);
		n = shardx1b_unstand(buf, n, cases[i].k);
		ck_assert_uint_eq(n, strlen(cases[i].out));
		ck_assert(memcmp(buf, cases[i].out, n) == 0);
	}
}
END_TEST

START_TEST(test_expand)
{
	/* clang-format off */
	static const struct { const char *in, *out; } cases[] = {
		{ "", "" }, { ST, "\x1b" }, { "a" ST "b" ST, "a\x1b" "b\x1b" },
		{ "\xe2\x90", "\xe2\x90" }, { "\xe2\xe2\x90\x9b\xe2", "\xe2\x1b\xe2" },
		{ "\xe2\x82\xac" ST ST "\xe2\x90\x9c", "\xe2\x82\xac\x1b\x1b\xe2\x90\x9c" },
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[32];
		size_t n = strlen(cases[i].in);

		memcpy(buf, cases[i].in, n);
		n = shardx1b_expand(buf, n);
		ck_assert_uint_eq(n, strlen(cases[i].out));
		ck_assert(memcmp(buf, cases[i].out, n) == 0);
	}
}
END_TEST

static Suite *shardx1b_suite(void)
{
	Suite *s = suite_create("shardx1b");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_golden, 0, sizeof(goldens) / sizeof(goldens[0]));
	tcase_add_loop_test(tc, test_mixed_roundtrip, 0, 6);
	tcase_add_loop_test(tc, test_real_at_line_ends, 0, 27);
	tcase_add_test(tc, test_reader_lines);
	tcase_add_test(tc, test_unstand);
	tcase_add_test(tc, test_expand);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(shardx1b_suite());
}
