/* Unit tests for common/rfc5424: SD-PARAM escaping (§6.3.3), NILVALUE,
 * header clipping and sanitising, the buffer cap (guard bytes), and that
 * every line matches the RFC 5424 shape and parses back to the values given. */
#include <check.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc5424.h"
#include "testutil.h"

#define GUARD 0xA5
static const struct timespec TS = { .tv_sec = 1795341600, .tv_nsec = 123456789 };
#define TSS "2026-11-22T10:00:00.123456+00:00"

static const struct {
	const char *in, *out;
} escapes[] = {
	{ "plain", "plain" },
	{ "", "" },
	{ "say \"hi\"", "say \\\"hi\\\"" },
	{ "C:\\dir\\", "C:\\\\dir\\\\" },
	{ "a]b[c", "a\\]b[c" },
	{ "tab\there\nnl\r\x01\x1f\x7f!", "tabherenl!" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "bad\xff\xfe end", "bad\xef\xbf\xbd\xef\xbf\xbd end" },
	{ "cut \xe2\x82", "cut \xef\xbf\xbd" },
	{ "\x1b[31mred\x1b[0m", "[31mred[0m" },
	{ "= sign and spaces", "= sign and spaces" },
};

START_TEST(test_escape)
{
	char buf[128];

	memset(buf, GUARD, sizeof(buf));
	ck_assert_uint_eq(rfc5424_escape(buf, sizeof(buf), escapes[_i].in), strlen(escapes[_i].out));
	ck_assert_str_eq(buf, escapes[_i].out);
}
END_TEST

/* Clipping never splits an escape pair or a character. */
static const struct {
	const char *in;
	size_t cap;
	const char *out;
} clips[] = {
	{ "abc", 3, "ab" },
	{ "a\"b", 2, "a" },
	{ "a\"b", 3, "a" },
	{ "a\"b", 4, "a\\\"" },
	{ "\xc3\xa9", 2, "" },
	{ "x\xe2\x82\xac", 4, "x" },
	{ "x\xe2\x82\xac", 5, "x\xe2\x82\xac" },
	{ "abc", 1, "" },
};

START_TEST(test_escape_clip)
{
	char buf[16];

	memset(buf, GUARD, sizeof(buf));
	ck_assert_uint_eq(rfc5424_escape(buf, clips[_i].cap, clips[_i].in), strlen(clips[_i].out));
	ck_assert_str_eq(buf, clips[_i].out);
	ck_assert_int_eq((unsigned char)buf[clips[_i].cap], GUARD);
	ck_assert_uint_eq(rfc5424_escape(buf, 0, "abc"), 0);
}
END_TEST

/* ^<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ (\[.*\]|-)( .*)?$ */
static bool shape_ok(const char *line)
{
	static const char *re = "^<[0-9]{1,3}>1 [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ (\\[.*\\]|-)( .*)?$";
	regex_t rx;
	bool ok;

	ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&rx, line, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok && !strchr(line, '\n');
}

/* What a collector sees: one SD element, its params unescaped, the message. */
struct parsed {
	char sdid[64];
	size_t n;
	char names[32][40];
	char values[32][1024];
	char msg[4096];
	bool has_msg;
};

static bool sd_parse(const char *line, struct parsed *p)
{
	const char *s = line;

	memset(p, 0, sizeof(*p));
	for (int f = 0; f < 6; f++) {
		s = strchr(s, ' ');
		if (!s)
			return false;
		s++;
	}
	if (*s == '-') {
		s++;
	} else {
		size_t k = strcspn(s + 1, " ]");

		if (*s != '[' || k == 0 || k >= sizeof(p->sdid))
			return false;
		memcpy(p->sdid, s + 1, k);
		s += 1 + k;
		while (*s == ' ') {
			size_t nl = strcspn(++s, "=");
			size_t o = 0;

			if (p->n == 32 || nl == 0 || nl >= 40 || s[nl] != '=' || s[nl + 1] != '"')
				return false;
			memcpy(p->names[p->n], s, nl);
			for (s += nl + 2; *s != '"'; s++) {
				if (!*s || *s == ']' || o + 1 >= 1024)
					return false; /* an unescaped ']' inside a value */
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == ']'))
					s++;
				p->values[p->n][o++] = *s;
			}
			s++;
			p->n++;
		}
		if (*s++ != ']')
			return false;
	}
	if (*s == ' ') {
		p->has_msg = true;
		snprintf(p->msg, sizeof(p->msg), "%s", s + 1);
	} else if (*s) {
		return false;
	}
	return true;
}

/* clang-format off */
static const struct rfc5424_param seedp[] = {
	{ "sid", "2c849f6c-dc87-4c34-9451-f1078d72ded5" }, { "service", "ssh" },
	{ "src_ip", "192.0.2.7" },   { "duration_s", "12.345" },
	{ "bytes", "4567" },         { "truncated", "false" },
};
/* clang-format on */

START_TEST(test_seed_line)
{
	char buf[1024];
	int n = rfc5424_format(buf, sizeof(buf), 134, &TS, "NODE", "sessrec", NULL, "session_recorded", "relay@55555",
			       seedp, 6, NULL);
	const char *want = "<134>1 " TSS
			   " NODE sessrec - session_recorded [relay@55555 "
			   "sid=\"2c849f6c-dc87-4c34-9451-f1078d72ded5\" service=\"ssh\" src_ip=\"192.0.2.7\" "
			   "duration_s=\"12.345\" bytes=\"4567\" truncated=\"false\"]";

	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(n, (int)strlen(want));
	ck_assert(shape_ok(buf));
}
END_TEST

static const struct rfc5424_param oddp[] = {
	{ "ok", "v" },
	{ "", "empty name" },
	{ "has space", "x" },
	{ "eq=", "x" },
	{ "quo\"te", "x" },
	{ "brack]", "x" },
	{ "0123456789012345678901234567890123", "name too long" },
	{ "nul", NULL },
	{ "last", "w" },
};

/* clang-format off */
static const struct {
	const char *what;
	int pri;
	const struct timespec *ts;
	const char *host, *app, *procid, *msgid, *sdid;
	const struct rfc5424_param *params;
	size_t np;
	const char *msg;
	const char *want;
} lines[] = {
	{ "all nil", 0, &TS, NULL, "", NULL, "", NULL, NULL, 0, NULL, "<0>1 " TSS " - - - - -" },
	{ "sd without params", 191, &TS, "h", "a", "1", "m", "x@1", NULL, 0, NULL,
	  "<191>1 " TSS " h a 1 m [x@1]" },
	{ "message", 13, &TS, "h", "a", "1", "m", NULL, NULL, 0, "hello world",
	  "<13>1 " TSS " h a 1 m - hello world" },
	{ "message after sd", 13, &TS, "h", "a", "1", "m", "x@1", seedp, 2, "multi\nline\tmsg",
	  "<13>1 " TSS " h a 1 m [x@1 sid=\"2c849f6c-dc87-4c34-9451-f1078d72ded5\" service=\"ssh\"] multi line msg" },
	{ "empty message", 13, &TS, "h", "a", "1", "m", NULL, NULL, 0, "", "<13>1 " TSS " h a 1 m -" },
	{ "bad names skipped", 14, &TS, "h", "a", "1", "m", "x@1", oddp, 9, NULL,
	  "<14>1 " TSS " h a 1 m [x@1 ok=\"v\" last=\"w\"]" },
	{ "header sanitised", 14, &TS, "my host", "app\x01", "p\xc3\xa9", "a=b", "x@1", NULL, 0, NULL,
	  "<14>1 " TSS " my_host app_ p__ a=b [x@1]" },
	{ "bad sdid", 14, &TS, "h", "a", "1", "m", "bad id", seedp, 1, NULL, "<14>1 " TSS " h a 1 m -" },
	{ "epoch", 14, &(struct timespec){ 0, 999999999 }, "h", "a", "1", "m", NULL, NULL, 0, NULL,
	  "<14>1 1970-01-01T00:00:00.999999+00:00 h a 1 m -" },
	{ "bad nsec", 14, &(struct timespec){ 0, 1000000000 }, "h", "a", "1", "m", NULL, NULL, 0, NULL,
	  "<14>1 - h a 1 m -" },
	{ "year 10000", 14, &(struct timespec){ 253402300800, 0 }, "h", "a", "1", "m", NULL, NULL, 0, NULL,
	  "<14>1 - h a 1 m -" },
};
/* clang-format on */

START_TEST(test_lines)
{
	char buf[1024];
	int n = rfc5424_format(buf, sizeof(buf), lines[_i].pri, lines[_i].ts, lines[_i].host, lines[_i].app,
			       lines[_i].procid, lines[_i].msgid, lines[_i].sdid, lines[_i].params, lines[_i].np,
			       lines[_i].msg);

	ck_assert_msg(n == (int)strlen(lines[_i].want), "%s: %d", lines[_i].what, n);
	ck_assert_str_eq(buf, lines[_i].want);
	ck_assert_msg(shape_ok(buf), "%s", buf);
}
END_TEST

static char *repeat(char c, size_t n)
{
	static char b[4][512];
	static int k;
	char *s = b[k++ % 4];

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_clip_fields)
{
	char buf[2048];
	char *f[4];
	int n = rfc5424_format(buf, sizeof(buf), 134, &TS, repeat('h', 300), repeat('a', 60), repeat('p', 200),
			       repeat('m', 40), NULL, NULL, 0, NULL);
	char *save = NULL, *tok = strtok_r(buf, " ", &save);

	ck_assert_int_gt(n, 0);
	tok = strtok_r(NULL, " ", &save); /* timestamp */
	for (int i = 0; i < 4; i++)
		f[i] = strtok_r(NULL, " ", &save);
	ck_assert_uint_eq(strlen(f[0]), 255);
	ck_assert_uint_eq(strlen(f[1]), 48);
	ck_assert_uint_eq(strlen(f[2]), 128);
	ck_assert_uint_eq(strlen(f[3]), 32);
	ck_assert_ptr_nonnull(tok);
}
END_TEST

START_TEST(test_bad_pri)
{
	char buf[256];

	ck_assert_int_eq(rfc5424_format(buf, sizeof(buf), 192, &TS, "h", "a", "1", "m", NULL, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(rfc5424_format(buf, sizeof(buf), -1, &TS, "h", "a", "1", "m", NULL, NULL, 0, NULL), -EINVAL);
}
END_TEST

static const struct rfc5424_param nasty[] = {
	{ "sid", "2c849f6c-dc87-4c34-9451-f1078d72ded5" },
	{ "user", "ro\"ot]\\" },
	{ "cmd", "echo \"]\" \\\\ [x] \x1b[0m done" },
	{ "utf8", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac" },
	{ "empty", "" },
	{ "ctl", "\r\n\t" },
	{ "last", "]]]\"\"\"\\\\\\" },
};

/* Values minus control characters: what the collector must get back. */
static void without_ctl(char *out, const char *in)
{
	for (; *in; in++)
		if ((unsigned char)*in >= 0x20 && *in != 0x7f)
			*out++ = *in;
	*out = '\0';
}

/* Every cap from 0 up: -ENOSPC or a line within cap that parses, each
 * param present either whole and exact or absent, no byte past cap. */
START_TEST(test_cap_sweep)
{
	const char *msg = "the end \xe2\x82\xac\xe2\x82\xac";
	unsigned char buf[1024];
	char full[1024];
	struct parsed *p = malloc(sizeof(*p));
	int fulln = rfc5424_format(full, sizeof(full), 134, &TS, "NODE", "sessrec", "42", "session_command",
				   "relay@55555", nasty, 7, msg);

	ck_assert_int_gt(fulln, 0);
	ck_assert(shape_ok(full));
	for (size_t cap = 0; cap <= (size_t)fulln + 2; cap++) {
		int n;

		memset(buf, GUARD, sizeof(buf));
		n = rfc5424_format((char *)buf, cap, 134, &TS, "NODE", "sessrec", "42", "session_command",
				   "relay@55555", nasty, 7, msg);
		for (size_t i = cap; i < sizeof(buf); i++)
			ck_assert_msg(buf[i] == GUARD, "cap %zu: byte %zu written", cap, i);
		if (n == -ENOSPC)
			continue;
		ck_assert_int_ge(n, 0);
		ck_assert_uint_lt((size_t)n, cap);
		ck_assert_uint_eq(strlen((char *)buf), (size_t)n);
		ck_assert_msg(shape_ok((char *)buf), "cap %zu: %s", cap, buf);
		ck_assert_msg(sd_parse((char *)buf, p), "cap %zu: %s", cap, buf);
		ck_assert_str_eq(p->sdid, "relay@55555");
		for (size_t i = 0, j = 0; i < p->n; i++) {
			char want[256];

			while (j < 7 && strcmp(nasty[j].name, p->names[i]) != 0)
				j++;
			ck_assert_msg(j < 7, "unknown or reordered param %s", p->names[i]);
			without_ctl(want, nasty[j].value);
			ck_assert_str_eq(p->values[i], want);
		}
		if (p->has_msg)
			ck_assert(strncmp(msg, p->msg, strlen(p->msg)) == 0);
		if ((size_t)n == (size_t)fulln)
			ck_assert_str_eq((char *)buf, full);
	}
	/* With room for everything, everything is there. */
	ck_assert(sd_parse(full, p));
	ck_assert_uint_eq(p->n, 7);
	ck_assert_str_eq(p->msg, msg);
	free(p);
}
END_TEST

START_TEST(test_enospc)
{
	char buf[64];

	ck_assert_int_eq(rfc5424_format(buf, 0, 134, &TS, "h", "a", "1", "m", NULL, NULL, 0, NULL), -ENOSPC);
	ck_assert_int_eq(rfc5424_format(buf, 20, 134, &TS, "h", "a", "1", "m", NULL, NULL, 0, NULL), -ENOSPC);
	/* The 48-byte header fits but "[relay@55555]" does not. */
	ck_assert_int_eq(rfc5424_format(buf, 50, 134, &TS, "h", "a", "1", "m", "relay@55555", NULL, 0, NULL), -ENOSPC);
	ck_assert_int_eq(rfc5424_format(buf, 61, 134, &TS, "h", "a", "1", "m", "relay@55555", NULL, 0, NULL), -ENOSPC);
	ck_assert_int_eq(rfc5424_format(buf, 62, 134, &TS, "h", "a", "1", "m", "relay@55555", NULL, 0, NULL), 61);
	/* No params fit: the SD element stays, empty. */
	ck_assert_int_eq(rfc5424_format(buf, 62, 134, &TS, "h", "a", "1", "m", "relay@55555", seedp, 6, "msg"), 61);
	ck_assert_str_eq(buf, "<134>1 " TSS " h a 1 m [relay@55555]");
}
END_TEST

static Suite *rfc5424_suite(void)
{
	Suite *s = suite_create("rfc5424");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_escape, 0, sizeof(escapes) / sizeof(escapes[0]));
	tcase_add_loop_test(tc, test_escape_clip, 0, sizeof(clips) / sizeof(clips[0]));
	tcase_add_test(tc, test_seed_line);
	tcase_add_loop_test(tc, test_lines, 0, sizeof(lines) / sizeof(lines[0]));
	tcase_add_test(tc, test_clip_fields);
	tcase_add_test(tc, test_bad_pri);
	tcase_add_test(tc, test_cap_sweep);
	tcase_add_test(tc, test_enospc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(rfc5424_suite());
}
