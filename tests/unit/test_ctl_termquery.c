/* Unit tests for termquery.c: what `play` takes out of a replayed stream
 * (report requests, clipboard writes, key programming, pass-through) and
 * what it keeps (text, colours, titles, pictures), whole and split at every
 * byte; and the terminal answers told from typed keys. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "termquery.h"
#include "testutil.h"

struct fcase {
	const char *in, *want; /* want NULL: in passes unchanged */
};

/* clang-format off */
static const struct fcase fcases[] = {
	/* kept */
	{ "hello\r\nworld\t!", NULL },
	{ "\x1b[1;31mred\x1b[0m \x1b[2J\x1b[H\x1b[5;10H\x1b[?1049h\x1b[?25l", NULL },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0nbsp", NULL }, /* continuation bytes are no C1 */
	{ "\x1b" "7\x1b" "8\x1b(B\x1b)0\x1b#8\x1b" "c", NULL },
	{ "\x1b]0;a title\x07\x1b]2;other\x1b\\", NULL },
	{ "\x1b]8;;https://example.com/\x1b\\link\x1b]8;;\x1b\\", NULL },
	{ "\x1b]4;1;rgb:ff/00/00\x07\x1b]11;rgb:00/00/00\x07\x1b]104\x07", NULL },
	{ "\x1bPq#0;2;0;0;0#0~~@@\x1b\\", NULL },              /* sixel */
	{ "\x1b[2 q\x1b[>1u\x1b[22;0t\x1b[23;0t\x1b[>4;1m", NULL }, /* cursor style, kitty flags, title stack */
	{ "\x1b[1\r\nm", NULL },                                 /* a C0 inside a CSI: executed, kept */
	{ "\x1b[6\r\nn", "" },                                   /* ... and a query all the same */
	/* DECRQSS, XTGETTCAP, DECUDK, pass-through */
	{ "a\x1bP$q q\x1b\\b", "ab" },
	{ "a\x1bP$qm\x1b\\\x1bP$qr\x1b\\b", "ab" },
	{ "\x1bP+q544e;636f6c73\x1b\\", "" },
	{ "\x1bP0;1|17/616263\x1b\\", "" },
	{ "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\x", "\x1b\\x" }, /* a lone ST is left */
	{ "\x1bP$q q\x07[6n", "[6n" },                        /* BEL ends the string here */
	/* clipboard, colour and font queries, iTerm2 and kitty extensions */
	{ "x\x1b]52;c;aGVsbG8=\x07y", "xy" },
	{ "x\x1b]52;c;?\x1b\\y", "xy" },
	{ "\x1b]10;?\x07\x1b]11;?\x1b\\\x1b]4;1;?\x07\x1b]12;?\x07\x1b]50;?\x07", "" },
	{ "\x1b]4;1;rgb:ff/00/00;2;?\x07", "" },
	{ "\x1b]1337;RequestUpload=format=tgz\x07\x1b]1337;Copy=:aGk=\x07\x1b]5522;type=read\x07", "" },
	{ "\x1b]21;foreground=?\x1b\\", "" },
	/* CSI reports and window operations */
	{ "\x1b[c\x1b[0c\x1b[>c\x1b[>0c\x1b[=c", "" },
	{ "\x1b[5n\x1b[6n\x1b[?6n\x1b[?15n\x1b[?996n", "" },
	{ "\x1b[21t\x1b[14t\x1b[18t\x1b[8;50;100t\x1b[3;0;0t\x1b[2t", "" },
	{ "\x1b[?2026$p\x1b[4$p\x1b[>q\x1b[>0q\x1b[?u\x1b[1$u\x1b[$w\x1b[1;1;1;1;1*y", "" },
	{ "\x1b[?4m\x1b[?1;1S\x1b[x\x1b[1x\x1b[0i\x1b[?5i\x1b[1;1;2;2#|\x1b[1'|\x1b[\"v", "" },
	{ "a\x1b" "Zb\x05" "c\x9a" "d", "abcd" },                 /* DECID, ENQ, DECID 8-bit */
	{ "\x1b[\x05m", "\x1b[m" },                             /* ENQ inside a sequence */
	/* 8-bit forms */
	{ "\x9b" "6n\xc2\x9b" "6n\xc2\x9b" "1m", "\xc2\x9b" "1m" },
	{ "\xc2\x9d" "52;c;aGk=\xc2\x9c" "ok", "ok" },
	{ "\x90$q q\x1b\\ok", "ok" },
	{ "\x9d" "0;t\x07", NULL },
	{ "\x1b]0;caf\xc3\xa9 \xe2\x82\xac \xc2\xa0\x07", NULL },      /* UTF-8 in a title */
	{ "\x1b]10;?\x9c" "ok\x1b]52;c;x\xc2\x9c" "ok", "okok" },        /* ST 8-bit, as UTF-8 */
	/* a C1 control ends a string, as a VT500 parser sees it */
	{ "\x1b]0;t\xc2\x9b" "6n\x07", "\x07" },
	{ "\x1b]0;t\x9b" "6n\x07", "\x07" },
	{ "\x1bPq#0\x9d" "52;c;x\x07" "ok", "ok" },
	/* malformed or aborted: dropped, never half passed */
	{ "\x1b[6\xc3\xa9n", "\xc3\xa9n" },
	{ "\x1b[6\x18n", "\x18n" },
	{ "\x1b]52;c;abc\x1b[6n", "" },
	{ "\x1b]0;t\x1b[1m", "\x1b[1m" },
	{ "\x1b\x1b[1m", "\x1b[1m" },
	{ "\x1b_Ga=q,i=1;AAAA\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\z", "z" },
};
/* clang-format on */

/* Runs the filter over in, cut at cut (n: not cut), to the end. */
static size_t run_filter(const char *in, size_t n, size_t cut, uint8_t *out)
{
	struct termquery_filter f;
	size_t o;

	termquery_filter_init(&f);
	o = termquery_filter(&f, (const uint8_t *)in, cut, out);
	o += termquery_filter(&f, (const uint8_t *)in + cut, n - cut, out + o);
	o += termquery_filter_end(&f, out + o);
	return o;
}

START_TEST(test_filter)
{
	const struct fcase *c = &fcases[_i];
	const char *want = c->want ? c->want : c->in;
	size_t n = strlen(c->in);
	uint8_t *out = malloc(2 * n + TERMQUERY_HOLD + 1);

	ck_assert_ptr_nonnull(out);
	for (size_t cut = 0; cut <= n; cut++) {
		size_t o = run_filter(c->in, n, cut, out);

		ck_assert_msg(o == strlen(want) && memcmp(out, want, o) == 0,
			      "case %d cut at %zu: got %zu bytes '%.*s'", _i, cut, o, (int)o, out);
	}
	free(out);
}
END_TEST

/* Byte by byte, the same as whole. */
START_TEST(test_filter_bytewise)
{
	const struct fcase *c = &fcases[_i];
	const char *want = c->want ? c->want : c->in;
	struct termquery_filter f;
	uint8_t out[2 + TERMQUERY_HOLD + 1], all[4096];
	size_t n = strlen(c->in), o = 0;

	termquery_filter_init(&f);
	for (size_t i = 0; i < n; i++) {
		size_t k = termquery_filter(&f, (const uint8_t *)c->in + i, 1, out);

		memcpy(all + o, out, k);
		o += k;
	}
	o += termquery_filter_end(&f, all + o);
	ck_assert_msg(o == strlen(want) && memcmp(all, want, o) == 0, "case %d: got '%.*s'", _i, (int)o, all);
}
END_TEST

static char *repeat(const char *head, char c, size_t n, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(h + n + t + 1);

	memcpy(s, head, h);
	memset(s + h, c, n);
	memcpy(s + h + n, tail, t + 1);
	return s;
}

/* Longer than the buffer: a clipboard write goes whatever its size, a long
 * title is passed, and whatever ends it is seen (ST, BEL, ST as UTF-8). */
START_TEST(test_filter_long)
{
	size_t big = 3 * TERMQUERY_HOLD + 7;
	char *clip = repeat("a\x1b]52;c;", 'Q', big, "\x07z");
	char *title = repeat("\x1b]0;", 't', big, "\xc2\x9c\x1b[6nz");
	char *want = repeat("\x1b]0;", 't', big, "\xc2\x9cz");
	char *unended = repeat("\x1b]2;", 't', big, "");
	char *csi = repeat("\x1b[", '1', big, "n!");
	uint8_t *out = malloc(2 * (big + 16) + TERMQUERY_HOLD);
	size_t o, n;

	for (size_t cut = 0; cut < big + 12; cut += 97) {
		n = strlen(clip);
		o = run_filter(clip, n, cut < n ? cut : n, out);
		ck_assert_msg(o == 2 && memcmp(out, "az", 2) == 0, "clipboard, cut %zu: %zu bytes", cut, o);
		n = strlen(title);
		o = run_filter(title, n, cut < n ? cut : n, out);
		ck_assert_msg(o == strlen(want) && memcmp(out, want, o) == 0, "title, cut %zu: %zu bytes", cut, o);
	}
	/* a long string cut off by the end of the stream is ended with CAN */
	n = strlen(unended);
	o = run_filter(unended, n, n, out);
	ck_assert_uint_eq(o, n + 1);
	ck_assert_int_eq(memcmp(out, unended, n), 0);
	ck_assert_int_eq(out[n], 0x18);
	/* a CSI longer than the buffer is dropped */
	n = strlen(csi);
	o = run_filter(csi, n, n / 2, out);
	ck_assert_uint_eq(o, 1);
	ck_assert_int_eq(out[0], '!');
	free(clip);
	free(title);
	free(want);
	free(unended);
	free(csi);
	free(out);
}
END_TEST

START_TEST(test_filter_counts)
{
	struct termquery_filter f;
	uint8_t out[64 + TERMQUERY_HOLD];
	const char *in =
		"\x1b[6nA\x1b]52;c;x\x07"
		"B\x1bP$q q\x1b\\C\x1b[1mD";

	termquery_filter_init(&f);
	ck_assert_uint_eq(termquery_filter(&f, (const uint8_t *)in, strlen(in), out), 8);
	ck_assert_int_eq(memcmp(out,
				"AB"
				"C\x1b[1mD",
				8),
			 0);
	ck_assert_uint_eq(f.dropped, 3);
}
END_TEST

/* Random streams made of the pieces of sequences, cut at random: what the
 * filter lets through, filtered again, is unchanged (so it holds nothing
 * the filter would take out), and no call writes past its bound. */
START_TEST(test_filter_idempotent)
{
	static const char alphabet[] =
		"\x1b\x1b\x1b[[]]PPqqnnc6;?$+52\\\x07\x07\xc2\x9b\x9c\x9d\x90\x18\x05"
		"a \xe2\x82\xac"
		"01t";
	uint64_t seed = 0x9e3779b97f4a7c15u + (uint64_t)_i;
	enum { N = 4096, GUARD = 0xa5 };
	uint8_t in[N], *once = malloc(2 * N + TERMQUERY_HOLD + 1), *twice = malloc(4 * N + TERMQUERY_HOLD + 1);
	uint8_t chunk[2 * 64 + TERMQUERY_HOLD + 1];
	struct termquery_filter f;
	size_t n1 = 0, n2;

	for (size_t i = 0; i < N; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		in[i] = (uint8_t)alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
	}
	termquery_filter_init(&f);
	for (size_t i = 0; i < N;) {
		size_t k;

		seed = seed * 6364136223846793005u + 1442695040888963407u;
		k = 1 + (seed >> 33) % 64;
		if (k > N - i)
			k = N - i;
		memset(chunk, GUARD, sizeof(chunk));
		n2 = termquery_filter(&f, in + i, k, chunk);
		REQUIRE(n2 <= 2 * k + TERMQUERY_HOLD && chunk[2 * k + TERMQUERY_HOLD] == GUARD);
		memcpy(once + n1, chunk, n2);
		n1 += n2;
		i += k;
	}
	n1 += termquery_filter_end(&f, once + n1);
	termquery_filter_init(&f);
	n2 = termquery_filter(&f, once, n1, twice);
	n2 += termquery_filter_end(&f, twice + n2);
	ck_assert_msg(n2 == n1 && memcmp(once, twice, n1) == 0, "seed %d: %zu bytes, then %zu", _i, n1, n2);
	free(once);
	free(twice);
}
END_TEST

struct kcase {
	const char *in, *want;
};

/* clang-format off */
static const struct kcase kcases[] = {
	{ "q", "q" },
	{ " .q", " .q" },
	{ "\x1bP1$r2 q\x1b\\", "" },                   /* xterm's answer to DECRQSS of DECSCUSR */
	{ "\x1bP1$r0;1m\x1b\\ ", " " },
	{ "\x1bP1+r544e=787465726d\x1b\\", "" },        /* XTGETTCAP */
	{ "\x1b[?1;2c\x1b[>41;390;0c\x1b[12;40R\x1b[0n", "" },
	{ "\x1b]11;rgb:0000/0000/0000\x07\x1b]10;rgb:ffff/ffff/ffff\x1b\\", "" },
	{ "\x1b]52;c;cSBx\x07", "" },
	{ "\x1b[8;24;80t\x1b[?2026;2$y\x1bP>|XTerm(390)\x1b\\", "" },
	{ "a\x1b[Ab\x1bOPc", "abc" },                      /* cursor and function keys */
	{ "\x90" "1$r0m\x9c" "q", "q" },                    /* 8-bit answers */
	{ "\x9b" "12;40R ", " " },
	{ "\x1bP1$r\x03 q", "\x03 q" },                      /* Ctrl-C always counts, and ends it */
	{ "\x1bq", "" },                                     /* Alt+q */
	{ "\xc3\xa9q", "q" },
	{ "\x1b_Gi=1;OK\x1b\\.", "." },
};
/* clang-format on */

START_TEST(test_keys)
{
	const struct kcase *c = &kcases[_i];
	size_t n = strlen(c->in);
	uint8_t out[256];

	for (size_t cut = 0; cut <= n; cut++) {
		struct termquery_keys k;
		size_t o;

		termquery_keys_init(&k);
		o = termquery_keys(&k, (const uint8_t *)c->in, cut, out);
		o += termquery_keys(&k, (const uint8_t *)c->in + cut, n - cut, out + o);
		ck_assert_msg(o == strlen(c->want) && memcmp(out, c->want, o) == 0, "case %d cut at %zu: got '%.*s'",
			      _i, cut, (int)o, out);
	}
}
END_TEST

/* A string that never ends stops eating keys after a while. */
START_TEST(test_keys_unended)
{
	struct termquery_keys k;
	char *in = repeat("\x1bP", 'x', 5000, "q");
	uint8_t *out = malloc(6000);
	size_t o;

	termquery_keys_init(&k);
	o = termquery_keys(&k, (const uint8_t *)in, strlen(in), out);
	ck_assert_uint_gt(o, 0);
	ck_assert_int_eq(out[o - 1], 'q');
	free(in);
	free(out);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("termquery");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_filter, 0, (int)(sizeof(fcases) / sizeof(fcases[0])));
	tcase_add_loop_test(tc, test_filter_bytewise, 0, (int)(sizeof(fcases) / sizeof(fcases[0])));
	tcase_add_test(tc, test_filter_long);
	tcase_add_test(tc, test_filter_counts);
	tcase_add_loop_test(tc, test_filter_idempotent, 0, 200);
	tcase_add_loop_test(tc, test_keys, 0, (int)(sizeof(kcases) / sizeof(kcases[0])));
	tcase_add_test(tc, test_keys_unended);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
