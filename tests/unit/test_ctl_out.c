/* Unit tests for out.c's two ways of printing what a recording holds:
 * out_safe (text: every control character and invalid UTF-8 as \xNN) and
 * out_json (json-c's text with DEL, C1 and invalid UTF-8 escaped), whose
 * output must still parse to the same values. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "out.h"
#include "testutil.h"

/* What f(o) writes, NUL-terminated (a memfd behind struct out). */
static char *capture(void (*f)(struct out *o, const void *arg), const void *arg)
{
	int fd = memfd_create("out", MFD_CLOEXEC);
	struct out o;
	char *buf;
	off_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(out_init(&o, fd, 64), 0); /* small: the direct write path too */
	f(&o, arg);
	ck_assert_int_eq(out_close(&o), 0);
	n = lseek(fd, 0, SEEK_END);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(pread(fd, buf, (size_t)n, 0), n);
	close(fd);
	return buf;
}

struct scase {
	const char *in, *want;
};

/* clang-format off */
static const struct scase scases[] = {
	{ "alice", "alice" },
	{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
	{ "a\x1b[6nb", "a\\x1b[6nb" },
	{ "\x07\x7f\x05", "\\x07\\x7f\\x05" },
	{ "\xc2\x9b" "6n\xc2\x9d", "\\xc2\\x9b6n\\xc2\\x9d" },
	{ "\xc2\xa0", "\xc2\xa0" },
	{ "\x9b\xff\xe2\x82", "\\x9b\\xff\\xe2\\x82" },
};
/* clang-format on */

static void put_safe(struct out *o, const void *arg)
{
	out_safe_str(o, arg);
}

START_TEST(test_safe)
{
	char *got = capture(put_safe, scases[_i].in);

	ck_assert_str_eq(got, scases[_i].want);
	free(got);
}
END_TEST

static void put_json(struct out *o, const void *arg)
{
	struct json_object *obj = json_object_new_object();
	size_t len;
	const char *txt;

	json_object_object_add(obj, "v", json_object_new_string(arg));
	json_object_object_add(obj, "n", json_object_new_int(3));
	txt = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	out_json(o, txt, len);
	json_object_put(obj);
}

/* clang-format off */
static const struct scase jcases[] = {
	{ "alice", "{\"v\":\"alice\",\"n\":3}" },
	{ "caf\xc3\xa9 \xc2\xa0", "{\"v\":\"caf\xc3\xa9 \xc2\xa0\",\"n\":3}" },
	{ "a\x7f" "b", "{\"v\":\"a\\u007fb\",\"n\":3}" },
	{ "\xc2\x80\xc2\x9b" "6n\xc2\x9f", "{\"v\":\"\\u0080\\u009b6n\\u009f\",\"n\":3}" },
	{ "\x1b]52;c;x\x07", "{\"v\":\"\\u001b]52;c;x\\u0007\",\"n\":3}" },
	{ "x\x9by\xff", "{\"v\":\"x\\ufffdy\\ufffd\",\"n\":3}" },
	{ "\xe2\x82", "{\"v\":\"\\ufffd\",\"n\":3}" },
};
/* clang-format on */

START_TEST(test_json)
{
	char *got = capture(put_json, jcases[_i].in);
	struct json_object *back, *v;

	ck_assert_str_eq(got, jcases[_i].want);
	for (const unsigned char *p = (const unsigned char *)got; *p; p++)
		ck_assert_msg(*p >= 0x20 && *p != 0x7f && !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0),
			      "control character in %s", got);
	/* valid input reads back as itself */
	back = json_tokener_parse(got);
	ck_assert_ptr_nonnull(back);
	ck_assert(json_object_object_get_ex(back, "v", &v));
	if (_i < 5)
		ck_assert_str_eq(json_object_get_string(v), jcases[_i].in);
	json_object_put(back);
	free(got);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("out");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_safe, 0, (int)(sizeof(scases) / sizeof(scases[0])));
	tcase_add_loop_test(tc, test_json, 0, (int)(sizeof(jcases) / sizeof(jcases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
