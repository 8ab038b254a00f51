/* Unit tests for common/uuid: UUIDv4 format, version and variant bits,
 * uniqueness; uuid_valid's verdicts; token length, alphabet, bounds. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "proto.h"
#include "uuid.h"
#include "testutil.h"

#define MANY 1000

static int cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_v4)
{
	static char ids[MANY][UUID_STR_LEN];

	for (int i = 0; i < MANY; i++) {
		memset(ids[i], 'Z', UUID_STR_LEN);
		ck_assert_int_eq(uuid_v4(ids[i]), 0);
		ck_assert_uint_eq(strlen(ids[i]), 36);
		ck_assert_msg(uuid_valid(ids[i]), "%s", ids[i]);
		ck_assert_int_eq(ids[i][14], '4');
		ck_assert_ptr_nonnull(strchr("89ab", ids[i][19]));
	}
	qsort(ids, MANY, UUID_STR_LEN, cmp);
	for (int i = 1; i < MANY; i++)
		ck_assert_str_ne(ids[i - 1], ids[i]);
}
END_TEST

static const struct {
	const char *s;
	bool ok;
} valid[] = {
	{ "2c849f6c-dc87-4c34-9451-f1078d72ded5", true },
	{ "00000000-0000-0000-0000-000000000000", true },
	{ "2C849F6C-DC87-4C34-9451-F1078D72DED5", false }, /* uppercase */
	{ "2c849f6c-dc87-4c34-9451-f1078d72ded", false },
	{ "2c849f6c-dc87-4c34-9451-f1078d72ded55", false },
	{ "2c849f6cdc874c349451f1078d72ded5", false },
	{ "2c849f6c-dc87-4c34-9451_f1078d72ded5", false },
	{ "2c849f6c-dc87-4c34-9451-f1078d72deg5", false },
	{ "../../../etc/passwd-aaaaaaaaaaaaaaaa", false },
	{ "", false },
	{ NULL, false },
};

START_TEST(test_valid)
{
	ck_assert_msg(uuid_valid(valid[_i].s) == valid[_i].ok, "%s", valid[_i].s ? valid[_i].s : "NULL");
}
END_TEST

static bool urlsafe(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

static const struct {
	size_t n, cap;
	int ret;
	size_t len;
} tokens[] = {
	{ 32, PROTO_TOKEN_LEN + 1, 0, PROTO_TOKEN_LEN },
	{ 32, 4 * 32 / 3 + 2, 0, 43 }, /* the cap the header promises is enough */
	{ 1, 3, 0, 2 },
	{ 2, 4, 0, 3 },
	{ 3, 5, 0, 4 },
	{ 256, 400, 0, 342 },
	{ 32, 43, -ENOSPC, 0 },
	{ 0, 10, -EINVAL, 0 },
	{ 257, 400, -EINVAL, 0 },
};

START_TEST(test_token)
{
	char buf[512], again[512];

	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(random_token(buf, tokens[_i].cap, tokens[_i].n), tokens[_i].ret);
	if (tokens[_i].ret)
		return;
	ck_assert_uint_eq(strlen(buf), tokens[_i].len);
	ck_assert(urlsafe(buf));
	ck_assert_int_eq(buf[tokens[_i].cap], 'Z'); /* nothing past cap */
	/* Back to standard base64: it decodes to n bytes. */
	if (tokens[_i].n >= 16) {
		char std[512];
		uint8_t raw[400];
		size_t len = strlen(buf);

		for (size_t i = 0; i < len; i++)
			std[i] = buf[i] == '-' ? '+' : buf[i] == '_' ? '/' : buf[i];
		while (len % 4)
			std[len++] = '=';
		ck_assert_int_eq(b64_decode(raw, std, len), (ssize_t)tokens[_i].n);
		ck_assert_int_eq(random_token(again, tokens[_i].cap, tokens[_i].n), 0);
		ck_assert_str_ne(buf, again);
	}
}
END_TEST

static Suite *uuid_suite(void)
{
	Suite *s = suite_create("uuid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_v4);
	tcase_add_loop_test(tc, test_valid, 0, sizeof(valid) / sizeof(valid[0]));
	tcase_add_loop_test(tc, test_token, 0, sizeof(tokens) / sizeof(tokens[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(uuid_suite());
}
