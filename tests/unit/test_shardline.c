/* Unit tests for common/shardline: every event line parses as one JSON object,
 * is shorter than SHARD_LINE_MAX, ends in one '\n', and d/raw of all lines
 * give back the exact input bytes however it was split (with the ESC
 * stand-in where, and only where, it pays); plus the exact text
 * of the other lines, the t formatter against printf, paths and times. */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "shardline.h"
#include "shardx1b.h"
#include "utf8.h"
#include "testutil.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define GUARD 0xa5

/* Collects what a reader would get back from the lines. */
struct sink {
	char ch;
	uint8_t *out;
	size_t len, cap;
	size_t lines, raw_lines, last_len, min_full; /* min_full: shortest non-final line */
	size_t x1b_lines;                           /* lines with the ESC stand-in */
	char first_line[SHARD_LINE_MAX + 1];
	int fail_after; /* > 0: return -EPIPE on that line */
};

static void sink_init(struct sink *s, char ch)
{
	memset(s, 0, sizeof(*s));
	s->ch = ch;
	s->min_full = SIZE_MAX;
}

static void sink_append(struct sink *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 64;
		s->out = realloc(s->out, s->cap);
		REQUIRE(s->out != NULL);
	}
	memcpy(s->out + s->len, p, n);
	s->len += n;
}

/* Parses one line strictly: the whole line but its '\n' is one value. */
static json_object *parse_value(const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len - 1);
	if (!o)
		ck_abort_msg("not JSON: %.*s", (int)len, line);
	REQUIRE(json_tokener_get_parse_end(tok) == len - 1);
	json_tokener_free(tok);
	return o;
}

static json_object *parse_line(const char *line, size_t len)
{
	json_object *o = parse_value(line, len);

	REQUIRE(json_object_is_type(o, json_type_object));
	return o;
}

static void check_common(const char *line, size_t len)
{
	REQUIRE(len > 1);
	REQUIRE(len < SHARD_LINE_MAX);
	REQUIRE(line[len - 1] == '\n');
	REQUIRE(memchr(line, '\n', len - 1) == NULL);
	REQUIRE(memcmp(line, "{\"sid\":\"" SID "\",", 8 + 36 + 2) == 0);
}

/* d with every U+241B back to ESC, written here rather than taken from
 * shardx1b.c so the encoder is checked against a second reading. */
static size_t unstand(char *out, const char *d, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (i + 3 <= n && memcmp(d + i, "\xe2\x90\x9b", 3) == 0) {
			out[o++] = 0x1b;
			i += 2;
		} else {
			out[o++] = d[i];
		}
	}
	return o;
}

static int sink_line(void *userdata, const char *line, size_t len)
{
	struct sink *s = userdata;
	json_object *o = NULL, *d, *raw, *ch, *x1b;
	uint8_t bytes[SHARD_LINE_MAX];
	char dtext[SHARD_LINE_MAX];
	const char *ds;
	size_t dn, k, plain_len;

	check_common(line, len);
	o = parse_line(line, len);
	REQUIRE(json_object_object_get_ex(o, "d", &d));
	REQUIRE(json_object_object_get_ex(o, "ch", &ch));
	REQUIRE(json_object_get_string(ch)[0] == s->ch);
	ds = json_object_get_string(d);
	dn = (size_t)json_object_get_string_len(d);
	plain_len = len;
	if (json_object_object_get_ex(o, "x1b", &x1b)) {
		/* the stand-in, right before d, and only where it pays */
		REQUIRE(strcmp(json_object_get_string(x1b), "\xe2\x90\x9b") == 0);
		REQUIRE(strstr(line, ",\"x1b\":\"\xe2\x90\x9b\",\"d\":\"") != NULL);
		REQUIRE(memchr(ds, 0x1b, dn) == NULL); /* every ESC is a stand-in */
		k = unstand(dtext, ds, dn);
		/* what the line was before the stand-in: lines are filled that
		 * way, and the stand-in only shortens them, strictly */
		plain_len = len - SHARDX1B_MEMBER_LEN + (dn - k) / 2 * 3;
		REQUIRE(plain_len > len);
		dn = k;
		ds = dtext;
		s->x1b_lines++;
	} else {
		/* plain: the stand-in would not have paid, or d has a real one */
		k = 0;
		for (size_t i = 0; i < dn; i++)
			k += ds[i] == 0x1b;
		REQUIRE(k * 3 <= SHARDX1B_MEMBER_LEN || memmem(ds, dn, "\xe2\x90\x9b", 3));
	}
	if (json_object_object_get_ex(o, "raw", &raw)) {
		const char *r = json_object_get_string(raw);
		ssize_t n = b64_decode(bytes, r, (size_t)json_object_get_string_len(raw));
		uint8_t san[3 * SHARD_LINE_MAX];

		REQUIRE(n > 0);
		/* raw only when needed, and d is its replaced text */
		REQUIRE(utf8_valid_len(bytes, (size_t)n) < (size_t)n);
		REQUIRE(utf8_sanitize(san, bytes, (size_t)n) == dn);
		REQUIRE(memcmp(san, ds, dn) == 0);
		sink_append(s, bytes, (size_t)n);
		s->raw_lines++;
	} else {
		REQUIRE(dn > 0);
		REQUIRE(utf8_valid_len((const uint8_t *)ds, dn) == dn);
		sink_append(s, ds, dn);
	}
	json_object_put(o);
	if (s->lines && s->last_len < s->min_full)
		s->min_full = s->last_len;
	if (s->lines == 0)
		memcpy(s->first_line, line, len);
	s->last_len = plain_len;
	s->lines++;
	if (s->fail_after && (int)s->lines == s->fail_after)
		return -EPIPE;
	return 0;
}

/* Encodes p in pieces ending at cuts[] (then flush) and checks the round trip. */
static void encode_cuts(struct sink *s, const uint8_t *p, size_t n, const size_t *cuts, size_t ncut)
{
	struct shard_utf8 carry = { 0 };
	size_t at = 0;

	for (size_t i = 0; i <= ncut; i++) {
		size_t end = i < ncut ? cuts[i] : n;

		REQUIRE(shard_encode_event(&carry, SID, 1.5, s->ch, p + at, end - at, sink_line, s) == 0);
		REQUIRE(carry.len <= 3);
		at = end;
	}
	REQUIRE(shard_encode_flush(&carry, SID, 2.0, s->ch, sink_line, s) == 0);
	REQUIRE(carry.len == 0);
	REQUIRE(s->len == n);
	REQUIRE(n == 0 || memcmp(s->out, p, n) == 0);
}

static void roundtrip_cuts(const uint8_t *p, size_t n, const size_t *cuts, size_t ncut)
{
	struct sink s;

	sink_init(&s, 'o');
	encode_cuts(&s, p, n, cuts, ncut);
	free(s.out);
}

static void roundtrip_all_splits(const uint8_t *p, size_t n)
{
	for (size_t c = 0; c <= n; c++)
		roundtrip_cuts(p, n, &c, 1);
}

static void roundtrip_bytewise(const uint8_t *p, size_t n)
{
	size_t *cuts = malloc((n + 1) * sizeof(*cuts));

	ck_assert_ptr_nonnull(cuts);
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	roundtrip_cuts(p, n, cuts, n ? n - 1 : 0);
	free(cuts);
}

/* The one-line result of encoding p alone (then flush) must be exactly want. */
static void expect_lines(const uint8_t *p, size_t n, const char *want)
{
	struct sink s;
	struct shard_utf8 carry = { 0 };

	sink_init(&s, 'o');
	ck_assert_int_eq(shard_encode_event(&carry, SID, 0.25, 'o', p, n, sink_line, &s), 0);
	ck_assert_int_eq(shard_encode_flush(&carry, SID, 0.5, 'o', sink_line, &s), 0);
	ck_assert_uint_eq(s.lines, 1);
	ck_assert_str_eq(s.first_line, want);
	ck_assert_uint_eq(s.len, n);
	free(s.out);
}

#define L(t, d) "{\"sid\":\"" SID "\",\"t\":" t ",\"ch\":\"o\",\"d\":\"" d "\"}\n"
#define LR(t, d, r) "{\"sid\":\"" SID "\",\"t\":" t ",\"ch\":\"o\",\"d\":\"" d "\",\"raw\":\"" r "\"}\n"

/* clang-format off */
static const struct golden {
	const char *in;
	size_t n;
	const char *line; /* the first line */
} goldens[] = {
	{ "hi\r\n", 4, L("0.250000", "hi\\r\\n") },
	{ "\"\\/", 3, L("0.250000", "\\\"\\\\/") },
	{ "\b\f\t\x01\x1b\x7f", 6, L("0.250000", "\\b\\f\\t\\u0001\\u001b\\u007f") },
	{ "\0x", 2, L("0.250000", "\\u0000x") },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, L("0.250000", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") },
	{ "a\xffz", 3, LR("0.250000", "a\xef\xbf\xbdz", "Yf96") },
	{ "\xc0\x80", 2, LR("0.250000", "\xef\xbf\xbd\xef\xbf\xbd", "wIA=") },
	{ "\xed\xa0\x80", 3, LR("0.250000", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "7aCA") },
	{ "\xe2\x82\x41", 3, LR("0.250000", "\xef\xbf\xbd" "A", "4oJB") },
	/* an incomplete tail is carried, then flushed at 0.5 */
	{ "\xe2\x82", 2, LR("0.500000", "\xef\xbf\xbd", "4oI=") },
};
/* clang-format on */

START_TEST(test_golden)
{
	const struct golden *g = &goldens[_i];

	expect_lines((const uint8_t *)g->in, g->n, g->line);
}
END_TEST

START_TEST(test_single_byte)
{
	uint8_t b = (uint8_t)_i;
	struct sink s;

	sink_init(&s, 'i');
	encode_cuts(&s, &b, 1, NULL, 0);
	ck_assert_uint_eq(s.lines, 1);
	ck_assert_uint_eq(s.raw_lines, b >= 0x80);
	free(s.out);
}
END_TEST

/* Characters and broken sequences, each split at every offset. */
/* clang-format off */
static const struct { const char *s; size_t n; } seqs[] = {
	{ "\xc3\xa9", 2 }, { "\xdf\xbf", 2 }, { "\xe2\x82\xac", 3 }, { "\xe0\xa0\x80", 3 },
	{ "\xed\x9f\xbf", 3 }, { "\xef\xbf\xbf", 3 }, { "\xf0\x9f\x98\x80", 4 },
	{ "\xf0\x90\x80\x80", 4 }, { "\xf4\x8f\xbf\xbf", 4 },
	{ "\xc0\x80", 2 }, { "\xc1\xbf", 2 }, { "\xe0\x80\x80", 3 }, { "\xe0\x9f\xbf", 3 },
	{ "\xf0\x80\x80\x80", 4 }, { "\xf0\x8f\xbf\xbf", 4 }, { "\xed\xa0\x80", 3 },
	{ "\xed\xbf\xbf", 3 }, { "\xf4\x90\x80\x80", 4 }, { "\xf5\x80\x80\x80", 4 },
	{ "\xf8\x88\x80\x80\x80", 5 }, { "\xfe\xff", 2 },
	{ "\xe2\x82\x41", 3 }, { "\xf0\x9f\x98\x41\x42", 5 }, { "\xc3\n", 2 },
	{ "\xf0\x9f\xf0\x9f\x98\x80", 6 }, { "\x80\x80\x80", 3 }, { "x\xc3\xa9y", 4 },
	{ "\xe2\x82\xac\xe2\x82", 5 }, { "\xf0", 1 }, { "\xf4\x8f", 2 }, { "\xe2", 1 },
};
/* clang-format on */

START_TEST(test_seq_splits)
{
	const uint8_t *p = (const uint8_t *)seqs[_i].s;
	size_t n = seqs[_i].n;

	roundtrip_all_splits(p, n);
	roundtrip_bytewise(p, n);
	/* and surrounded by text, split in three everywhere */
	uint8_t buf[64];
	size_t m = 0;

	memcpy(buf, "ab", 2);
	m = 2;
	memcpy(buf + m, p, n);
	m += n;
	memcpy(buf + m, "\"z\x1b", 3);
	m += 3;
	for (size_t a = 0; a <= m; a++)
		for (size_t b = a; b <= m; b++) {
			size_t cuts[2] = { a, b };

			roundtrip_cuts(buf, m, cuts, 2);
		}
}
END_TEST

/* Terminal-like output with some of everything, deterministic. */
static size_t mixed(uint8_t *out, size_t n, unsigned seed)
{
	/* clang-format off */
	static const char *const piece[] = {
		"ls -la\r\n", "\x1b[01;34mdir\x1b[0m  ", "caf\xc3\xa9 ", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\"q\"\\", "\t", "\xff", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82\x41", "\0", "\x7f",
		"\xf4\x90\x80\x80", "plain text line of ascii ", "\xce\xbb\xce\xb1", "\r\n",
	};
	/* clang-format on */
	size_t o = 0;

	while (o < n) {
		seed = seed * 1103515245u + 12345u;
		const char *s = piece[(seed >> 16) % (sizeof(piece) / sizeof(piece[0]))];
		size_t l = s[0] ? strlen(s) : 1;

		if (l > n - o)
			l = n - o;
		memcpy(out + o, s, l);
		o += l;
	}
	return o;
}

START_TEST(test_mixed_every_split)
{
	static uint8_t buf[5000];
	size_t n = mixed(buf, sizeof(buf), 7);

	roundtrip_all_splits(buf, n);
	roundtrip_bytewise(buf, n);
}
END_TEST

/* Long homogeneous chunks: lines are full (all but the last within one item
 * and a base64 quantum of the limit) and round-trip. */
/* clang-format off */
static const struct { const char *unit; size_t n; } longs[] = {
	{ "a", 1 }, { "\x1b", 1 }, { "\"", 1 }, { "\xf0\x9f\x98\x80", 4 }, { "\xe2\x82\xac", 3 },
	{ "\xff", 1 }, { "\xc0\x80", 2 }, { "\xe2\x82\x41", 3 }, { "a\x1b[0m\xc3\xa9\r\n", 9 },
};
/* clang-format on */

START_TEST(test_long_chunks)
{
	size_t n = 100000 / longs[_i].n * longs[_i].n;
	uint8_t *buf = malloc(n);
	struct sink s;

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i += longs[_i].n)
		memcpy(buf + i, longs[_i].unit, longs[_i].n);
	sink_init(&s, 'o');
	encode_cuts(&s, buf, n, NULL, 0);
	ck_assert_uint_gt(s.lines, 10);
	/* the stand-in holds back room for its member, even when not used */
	ck_assert_uint_ge(s.min_full, SHARD_LINE_MAX - 16 - SHARDX1B_MEMBER_LEN);
	free(s.out);
	size_t cuts[3] = { n / 3 + 1, n / 2 + 2, n - 1 };

	roundtrip_cuts(buf, n, cuts, 3);
	roundtrip_bytewise(buf, n);
	free(buf);
}
END_TEST

/* A late invalid byte ends the valid text's line rather than forcing raw on it. */
START_TEST(test_late_invalid)
{
	uint8_t buf[3100];
	struct sink s;

	memset(buf, 'a', sizeof(buf));
	buf[3000] = 0xff;
	sink_init(&s, 'o');
	encode_cuts(&s, buf, sizeof(buf), NULL, 0);
	ck_assert_uint_eq(s.lines, 2);
	ck_assert_uint_eq(s.raw_lines, 1);
	ck_assert_ptr_null(strstr(s.first_line, "\"raw\""));
	free(s.out);
}
END_TEST

START_TEST(test_callback_error)
{
	uint8_t buf[20000];
	struct shard_utf8 carry = { 0 };
	struct sink s;

	memset(buf, 'x', sizeof(buf));
	sink_init(&s, 'o');
	s.fail_after = 2;
	ck_assert_int_eq(shard_encode_event(&carry, SID, 1, 'o', buf, sizeof(buf), sink_line, &s), -EPIPE);
	ck_assert_uint_eq(s.lines, 2);
	ck_assert_int_eq(shard_encode_event(&carry, SID, 1, '"', buf, 1, sink_line, &s), -EINVAL);
	free(s.out);
}
END_TEST

START_TEST(test_carry_rules)
{
	struct shard_utf8 carry = { 0 };
	struct sink s;

	sink_init(&s, 'o');
	/* all carried: nothing emitted, even across calls */
	ck_assert_int_eq(shard_encode_event(&carry, SID, 1, 'o', (const uint8_t *)"\xf0", 1, sink_line, &s), 0);
	ck_assert_int_eq(shard_encode_event(&carry, SID, 1, 'o', (const uint8_t *)"\x9f\x98", 2, sink_line, &s), 0);
	ck_assert_uint_eq(s.lines, 0);
	ck_assert_uint_eq(carry.len, 3);
	ck_assert_int_eq(shard_encode_event(&carry, SID, 1, 'o', NULL, 0, sink_line, &s), 0);
	ck_assert_uint_eq(carry.len, 3);
	ck_assert_int_eq(shard_encode_event(&carry, SID, 1, 'o', (const uint8_t *)"\x80!", 2, sink_line, &s), 0);
	ck_assert_uint_eq(s.lines, 1);
	ck_assert_uint_eq(s.raw_lines, 0);
	ck_assert_uint_eq(carry.len, 0);
	ck_assert_str_eq(s.first_line,
			 "{\"sid\":\"" SID "\",\"t\":1.000000,\"ch\":\"o\",\"d\":\"\xf0\x9f\x98\x80!\"}\n");
	ck_assert_int_eq(shard_encode_flush(&carry, SID, 1, 'o', sink_line, &s), 0);
	ck_assert_uint_eq(s.lines, 1);
	free(s.out);
}
END_TEST

START_TEST(test_json_escape_guard)
{
	static const uint8_t in[] = "a\"\\\x01\xc3\xa9\xff\xe2\x82\xac\n\xf0\x9f\x98\x80\xe2\x82";
	char full[256], buf[256 + 16];
	size_t used, fl = shard_json_escape(full, sizeof(full), in, sizeof(in) - 1, &used);

	ck_assert_uint_eq(used, sizeof(in) - 1);
	ck_assert_uint_eq(fl,
			  strlen("a\\\"\\\\\\u0001\xc3\xa9\xef\xbf\xbd\xe2\x82\xac\\n\xf0\x9f\x98\x80\xef\xbf\xbd"));
	ck_assert(memcmp(full, "a\\\"\\\\\\u0001\xc3\xa9\xef\xbf\xbd\xe2\x82\xac\\n\xf0\x9f\x98\x80\xef\xbf\xbd", fl) ==
		  0);
	for (size_t cap = 0; cap <= fl + 2; cap++) {
		size_t n;

		memset(buf, GUARD, sizeof(buf));
		n = shard_json_escape(buf, cap, in, sizeof(in) - 1, &used);
		ck_assert_uint_le(n, cap);
		for (size_t i = cap; i < sizeof(buf); i++)
			REQUIRE((uint8_t)buf[i] == GUARD);
		/* a prefix of the full text at an item boundary: it parses */
		ck_assert(memcmp(buf, full, n) == 0);
		char js[300];

		js[0] = '"';
		memcpy(js + 1, buf, n);
		js[n + 1] = '"';
		js[n + 2] = '\n';
		json_object_put(parse_value(js, n + 3));
	}
}
END_TEST

START_TEST(test_format_t)
{
	char got[SHARD_T_MAX + 1], want[64];
	unsigned seed = 1;
	double v;

	for (long i = 0; i < 400000; i++) {
		seed = seed * 1103515245u + 12345u;
		/* clang-format off */
		switch (i % 8) {
		case 0: v = (double)seed / 4294967296.0; break;             /* [0, 1) */
		case 1: v = (double)seed / 1000.0; break;                   /* to 4e6 */
		case 2: v = (double)(seed % 1000000) / 1e6; break;          /* on the grid */
		case 3: v = (double)(seed % 100000000) / 128.0; break;      /* exact ties */
		case 4: v = (double)(seed % 1000) + 0.0000005 * (seed % 3); break;
		case 5: v = ldexp((double)seed, -(int)(seed % 60)); break;
		case 6: v = nextafter((double)(seed % 1000000) + 0.9999995, 1e10 * (seed & 1)); break;
		default: v = (double)seed / 4294967296.0 * 1e9; break;
		}
		/* clang-format on */
		if (v >= 1e9)
			v = 999999999.9999;
		size_t n = shard_format_t(got, v);

		got[n] = '\0';
		snprintf(want, sizeof(want), "%.6f", v);
		if (strcmp(got, want) != 0)
			ck_abort_msg("%.17g: %s != %s", v, got, want);
	}
	ck_assert_uint_eq(shard_format_t(got, NAN), 8);
	ck_assert(memcmp(got, "0.000000", 8) == 0);
	ck_assert_uint_eq(shard_format_t(got, -3), 8);
	ck_assert_uint_eq(shard_format_t(got, 1e300), strlen("1000000000000.000000"));
	ck_assert_uint_eq(shard_format_t(got, 0.9999996), 8);
	ck_assert(memcmp(got, "1.000000", 8) == 0);
}
END_TEST

/* clang-format off */
static const struct shard_header hdr_normal = {
	.width = 120, .height = 40, .timestamp = 1795521600, .shell = "/bin/bash",
	.term = "xterm-256color",
	.meta = { .user = "alice", .uid = 1000, .service = "sshd", .proto = "ssh",
		  .src_ip = "192.0.2.7", .src_port = 50022, .tty = "/dev/pts/3", .host = "web1",
		  .auth = "publickey ssh-ed25519 SHA256:abc", .start = "2026-11-24T12:00:00.123456Z",
		  .cmd = NULL, .pid = 4242, .audit_session = 7, .input = true },
};
/* clang-format on */

START_TEST(test_header_exact)
{
	char buf[SHARD_LINE_MAX];
	struct shard_header h = {
		.width = 80, .height = 24, .timestamp = 5, .meta = { .uid = -1, .audit_session = -1 }
	};
	int n = shard_format_header(buf, sizeof(buf), SID, &hdr_normal);

	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf, "{\"sid\":\"" SID
			      "\",\"hdr\":{\"version\":2,\"width\":120,\"height\":40,"
			      "\"timestamp\":1795521600,\"env\":{\"SHELL\":\"/bin/bash\",\"TERM\":\"xterm-256color\"}},"
			      "\"meta\":{\"user\":\"alice\",\"uid\":1000,\"service\":\"sshd\",\"proto\":\"ssh\","
			      "\"src_ip\":\"192.0.2.7\",\"src_port\":50022,\"tty\":\"/dev/pts/3\",\"host\":\"web1\","
			      "\"auth\":\"publickey ssh-ed25519 SHA256:abc\",\"start\":\"2026-11-24T12:00:00.123456Z\","
			      "\"pid\":4242,\"audit_session\":7,\"input\":true}}\n");
	ck_assert_int_eq(n, (int)strlen(buf));
	n = shard_format_header(buf, sizeof(buf), SID, &h);
	ck_assert_str_eq(
		buf,
		"{\"sid\":\"" SID
		"\",\"hdr\":{\"version\":2,\"width\":80,\"height\":24,"
		"\"timestamp\":5,\"env\":{\"SHELL\":\"/bin/sh\",\"TERM\":\"dumb\"}},\"meta\":{\"input\":false}}\n");
	ck_assert_int_eq(shard_format_header(buf, 100, SID, &hdr_normal), -ENOSPC);
}
END_TEST

static json_object *member(json_object *o, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;

	ck_assert(json_object_object_get_ex(o, a, &x));
	ck_assert(json_object_object_get_ex(x, b, &y));
	return y;
}

START_TEST(test_header_hostile)
{
	char buf[SHARD_LINE_MAX + 64], *big = malloc(10001), *cmd = malloc(20001);
	struct shard_header h = hdr_normal;
	json_object *o;
	int n;

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(cmd);
	memset(big, 'u', 10000);
	big[10000] = '\0';
	for (int i = 0; i < 20000; i++)
		cmd[i] = "\x1b\"\\\xff\xe2\x82\xac\x01"[i % 8];
	cmd[20000] = '\0';
	h.term = "xterm\"},\"x\":1,\x01\n\x1b[31m\xff\xfe\xc0\x80\xed\xa0\x80\xe2\x82";
	h.meta.user = big;
	h.meta.cmd = cmd;
	memset(buf, GUARD, sizeof(buf));
	n = shard_format_header(buf, SHARD_LINE_MAX, SID, &h);
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, SHARD_LINE_MAX - 1);
	for (size_t i = SHARD_LINE_MAX; i < sizeof(buf); i++)
		ck_assert_int_eq((uint8_t)buf[i], GUARD);
	check_common(buf, (size_t)n);
	o = parse_line(buf, (size_t)n);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(member(o, "hdr", "env"), "TERM")),
			 "xterm\"},\"x\":1,\x01\n\x1b[31m\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* the short fields survive whole; the long ones share the rest */
	ck_assert_str_eq(json_object_get_string(member(o, "meta", "tty")), "/dev/pts/3");
	ck_assert_str_eq(json_object_get_string(member(o, "meta", "start")), hdr_normal.meta.start);
	ck_assert_int_gt(json_object_get_string_len(member(o, "meta", "user")), 1000);
	ck_assert_int_gt(json_object_get_string_len(member(o, "meta", "cmd")), 300);
	ck_assert_int_eq(json_object_get_int(member(o, "meta", "uid")), 1000);
	ck_assert_int_eq(json_object_get_boolean(member(o, "meta", "input")), 1);
	ck_assert_int_ge(n, SHARD_LINE_MAX - 12); /* the room was used */
	json_object_put(o);
	free(big);
	free(cmd);
}
END_TEST

START_TEST(test_other_lines)
{
	char buf[SHARD_LINE_MAX], *text = malloc(9001);
	struct shard_end e = { .duration = 12.3456789,
			       .bytes_out = 18446744073709551615ULL,
			       .bytes_in = 2,
			       .bytes_recorded = 3,
			       .withheld = 4,
			       .withheld_lines = 6,
			       .resizes = 5,
			       .truncated = true,
			       .reason = "hangup",
			       .end = "2026-11-24T12:00:12.345678Z" };
	json_object *o;
	int n;

	n = shard_format_end(buf, sizeof(buf), SID, &e);
	ck_assert_str_eq(
		buf,
		"{\"sid\":\"" SID
		"\",\"end\":{\"duration\":12.345679,"
		"\"bytes_out\":18446744073709551615,\"bytes_in\":2,\"bytes_recorded\":3,\"withheld\":4,"
		"\"withheld_lines\":6,\"resizes\":5,\"truncated\":true,\"reason\":\"hangup\",\"end\":\"2026-11-24T12:00:12.345678Z\"}}\n");
	json_object_put(parse_line(buf, (size_t)n));
	e.reason = NULL;
	e.end = NULL;
	e.truncated = false;
	n = shard_format_end(buf, sizeof(buf), SID, &e);
	ck_assert_ptr_nonnull(strstr(buf, "\"truncated\":false}}\n"));
	n = shard_format_resize(buf, sizeof(buf), SID, 3.1, 120, 40);
	ck_assert_str_eq(buf, "{\"sid\":\"" SID "\",\"t\":3.100000,\"ch\":\"r\",\"d\":\"120x40\"}\n");
	n = shard_format_trunc(buf, sizeof(buf), SID);
	ck_assert_str_eq(buf, "{\"sid\":\"" SID "\",\"trunc\":true}\n");
	ck_assert_int_eq(n, 8 + 36 + 16);
	n = shard_format_marker(buf, sizeof(buf), SID, 4, "redacted \"pw\"\n");
	ck_assert_str_eq(buf, "{\"sid\":\"" SID "\",\"t\":4.000000,\"ch\":\"m\",\"d\":\"redacted \\\"pw\\\"\\n\"}\n");
	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < 9000; i++)
		text[i] = i % 3 ? 'x' : '\x1b';
	text[9000] = '\0';
	n = shard_format_marker(buf, sizeof(buf), SID, 4, text);
	check_common(buf, (size_t)n);
	o = parse_line(buf, (size_t)n);
	ck_assert_int_gt(json_object_get_string_len(json_object_object_get(o, "d")), 1000);
	json_object_put(o);
	ck_assert_int_eq(shard_format_trunc(buf, 20, SID), -ENOSPC);
	free(text);
}
END_TEST

START_TEST(test_path_time)
{
	char buf[128];

	ck_assert_int_eq(shard_path(buf, sizeof(buf), "/var/lib/sessrec", 1795521600), 42);
	ck_assert_str_eq(buf, "/var/lib/sessrec/sessions-2026-11-24.jsonl");
	ck_assert_int_gt(shard_path(buf, sizeof(buf), "/d", 1795564799), 0);
	ck_assert_str_eq(buf, "/d/sessions-2026-11-24.jsonl");
	ck_assert_int_gt(shard_path(buf, sizeof(buf), "/d", 1795564800), 0);
	ck_assert_str_eq(buf, "/d/sessions-2026-11-25.jsonl");
	ck_assert_int_eq(shard_path(buf, 20, "/var/lib/sessrec", 0), -ENAMETOOLONG);
	ck_assert_int_eq(shard_rfc3339(buf, sizeof(buf), 1795521600, 123456), 27);
	ck_assert_str_eq(buf, "2026-11-24T12:00:00.123456Z");
	ck_assert_int_gt(shard_rfc3339(buf, sizeof(buf), 0, 0), 0);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
	ck_assert_int_gt(shard_rfc3339(buf, sizeof(buf), 10, 2500000), 0);
	ck_assert_str_eq(buf, "1970-01-01T00:00:12.500000Z");
	ck_assert_int_eq(shard_rfc3339(buf, 27, 0, 0), -ENOSPC);
}
END_TEST

static Suite *shardline_suite(void)
{
	Suite *s = suite_create("shardline");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, test_golden, 0, sizeof(goldens) / sizeof(goldens[0]));
	tcase_add_loop_test(tc, test_single_byte, 0, 256);
	tcase_add_loop_test(tc, test_seq_splits, 0, sizeof(seqs) / sizeof(seqs[0]));
	tcase_add_test(tc, test_mixed_every_split);
	tcase_add_loop_test(tc, test_long_chunks, 0, sizeof(longs) / sizeof(longs[0]));
	tcase_add_test(tc, test_late_invalid);
	tcase_add_test(tc, test_callback_error);
	tcase_add_test(tc, test_carry_rules);
	tcase_add_test(tc, test_json_escape_guard);
	tcase_add_test(tc, test_format_t);
	tcase_add_test(tc, test_header_exact);
	tcase_add_test(tc, test_header_hostile);
	tcase_add_test(tc, test_other_lines);
	tcase_add_test(tc, test_path_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(shardline_suite());
}
