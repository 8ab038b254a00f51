/* test_shardcmd: the exec and exit lines (common/shardcmd): exact layout,
 * argv null, hostile argv (newlines, quotes, escapes, invalid UTF-8) as
 * valid JSON, the caps (a 100 KB argument, CommandMaxArgBytes=, a long
 * cwd), and random argv lists always giving one valid line under 4096. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "shardcmd.h"
#include "shardline.h"
#include "testutil.h"
#include "utf8.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

/* The line parsed strictly (UTF-8 validated), checked to be one line under
 * SHARD_LINE_MAX; the caller puts it. */
static json_object *parse(const char *line, int n)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	ck_assert_int_gt(n, 1);
	ck_assert_int_lt(n, SHARD_LINE_MAX);
	ck_assert_int_eq(line[n - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\n', (size_t)n - 1));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, n - 1);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq((int)json_tokener_get_parse_end(tok), n - 1);
	json_tokener_free(tok);
	return o;
}

static json_object *exec_of(json_object *o)
{
	json_object *e = NULL;

	ck_assert(json_object_object_get_ex(o, "exec", &e));
	return e;
}

START_TEST(test_exec_layout)
{
	static const uint8_t args[] = "ls\0-l\0/tmp\0";
	struct shard_exec e = {
		.pid = 42, .ppid = 7, .uid = 1000, .args = args, .args_len = sizeof(args) - 1, .cwd = "/home/a"
	};
	char line[SHARD_LINE_MAX];
	int n = shard_format_exec(line, sizeof(line), SID, 1.5, &e, 4096);

	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	ck_assert_str_eq(line, "{\"sid\":\"" SID
			       "\",\"t\":1.500000,\"exec\":{\"pid\":42,\"ppid\":7,\"uid\":1000,"
			       "\"argv\":[\"ls\",\"-l\",\"/tmp\"],\"cwd\":\"/home/a\"}}\n");
}
END_TEST

START_TEST(test_exec_unknown)
{
	struct shard_exec e = { .pid = 42, .ppid = 0, .uid = -1 };
	char line[SHARD_LINE_MAX];
	int n = shard_format_exec(line, sizeof(line), SID, 0.25, &e, 4096);

	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	ck_assert_str_eq(line, "{\"sid\":\"" SID
			       "\",\"t\":0.250000,\"exec\":{\"pid\":42,\"ppid\":null,\"uid\":null,"
			       "\"argv\":null,\"cwd\":null}}\n");
}
END_TEST

START_TEST(test_exec_hostile)
{
	static const uint8_t args[] = "sh\0a\nb\0q\"u\\o\0\x1b]52;c;AAAA\x07\0bad\xff\xc3\0";
	struct shard_exec e = {
		.pid = 1, .ppid = 1, .uid = 0, .args = args, .args_len = sizeof(args) - 1, .cwd = "/tmp/\n\x1b[2J"
	};
	char line[SHARD_LINE_MAX];
	int n = shard_format_exec(line, sizeof(line), SID, 1, &e, 4096);
	json_object *o = parse(line, n), *argv = NULL, *x = exec_of(o);

	ck_assert(json_object_object_get_ex(x, "argv", &argv));
	ck_assert_int_eq((int)json_object_array_length(argv), 5);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(argv, 1)), "a\nb");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(argv, 2)), "q\"u\\o");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(argv, 3)), "\x1b]52;c;AAAA\x07");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(argv, 4)), "bad\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(x, "cwd")), "/tmp/\n\x1b[2J");
	ck_assert(!json_object_object_get_ex(x, "argv_truncated", NULL));
	/* Escaped in the line itself: no raw control byte. */
	for (int i = 0; i < n - 1; i++)
		ck_assert_int_ge((unsigned char)line[i], 0x20);
	json_object_put(o);
}
END_TEST

START_TEST(test_exec_huge_argument)
{
	static uint8_t args[100 * 1024 + 16];
	struct shard_exec e = { .pid = 1, .ppid = 1, .uid = 0, .args = args, .cwd = "/" };
	char line[SHARD_LINE_MAX];
	json_object *o, *argv = NULL, *x;
	const char *a1;
	int n;

	memcpy(args, "echo\0", 5);
	memset(args + 5, 'x', 100 * 1024);
	e.args_len = 5 + 100 * 1024 + 1; /* its NUL: args is zeroed */
	n = shard_format_exec(line, sizeof(line), SID, 1, &e, 4096);
	o = parse(line, n);
	x = exec_of(o);
	ck_assert(json_object_object_get_ex(x, "argv", &argv));
	ck_assert_int_eq((int)json_object_array_length(argv), 2);
	a1 = json_object_get_string(json_object_array_get_idx(argv, 1));
	ck_assert_uint_gt(strlen(a1), 3000); /* what fits, not nothing */
	ck_assert_uint_eq(strspn(a1, "x"), strlen(a1));
	ck_assert(json_object_get_boolean(json_object_object_get(x, "argv_truncated")));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(x, "cwd")), "/");
	json_object_put(o);
}
END_TEST

START_TEST(test_exec_caps)
{
	static const uint8_t args[] = "aaaa\0bbbb\0cccc\0";
	struct shard_exec e = { .pid = 1, .ppid = 1, .uid = 0, .args = args, .args_len = sizeof(args) - 1 };
	char line[SHARD_LINE_MAX], big[5000];
	json_object *o, *argv = NULL;
	int n;

	/* CommandMaxArgBytes= of 7: "aaaa" and "bb" */
	n = shard_format_exec(line, sizeof(line), SID, 1, &e, 7);
	o = parse(line, n);
	ck_assert(json_object_object_get_ex(exec_of(o), "argv", &argv));
	ck_assert_int_eq((int)json_object_array_length(argv), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(argv, 1)), "bb");
	ck_assert(json_object_get_boolean(json_object_object_get(exec_of(o), "argv_truncated")));
	json_object_put(o);
	/* Cut by the source: marked even though every byte read is there. */
	e.args_cut = true;
	n = shard_format_exec(line, sizeof(line), SID, 1, &e, 4096);
	o = parse(line, n);
	ck_assert(json_object_get_boolean(json_object_object_get(exec_of(o), "argv_truncated")));
	json_object_put(o);
	/* A cwd of 5000 bytes is clipped; the argv still fits. */
	memset(big, '/', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	e.args_cut = false;
	e.cwd = big;
	n = shard_format_exec(line, sizeof(line), SID, 1, &e, 4096);
	o = parse(line, n);
	ck_assert_uint_eq(strlen(json_object_get_string(json_object_object_get(exec_of(o), "cwd"))), 1024);
	ck_assert(json_object_object_get_ex(exec_of(o), "argv", &argv));
	ck_assert_int_eq((int)json_object_array_length(argv), 3);
	json_object_put(o);
	/* A buffer too small for even the frame. */
	ck_assert_int_eq(shard_format_exec(line, 64, SID, 1, &e, 4096), -ENOSPC);
}
END_TEST

/* Random argv lists (every byte value, escapes that expand six-fold): one
 * valid line under SHARD_LINE_MAX each time, the arguments it keeps
 * intact but for the last, which may be cut. */
START_TEST(test_exec_random)
{
	static uint8_t args[9000];
	char line[SHARD_LINE_MAX];
	uint32_t seed = 12345;

	for (int round = 0; round < 3000; round++) {
		struct shard_exec e = { .pid = round, .ppid = 1, .uid = 0, .args = args, .cwd = "/r" };
		size_t len;
		json_object *o;
		int n;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(args);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			args[i] = (uint8_t)((seed >> 16) % 7 == 0 ? 0 : (seed >> 8));
		}
		e.args_len = len;
		n = shard_format_exec(line, sizeof(line), SID, round, &e, (size_t)(64 + round % 4033));
		o = parse(line, n);
		ck_assert_int_eq(json_object_get_int(json_object_object_get(exec_of(o), "pid")), round);
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_exit)
{
	struct shard_exit x = { .pid = 9, .code = 3, .signal = 0, .dur = 0.0042 };
	char line[SHARD_LINE_MAX];
	int n = shard_format_exit(line, sizeof(line), SID, 2, &x);

	line[n] = '\0';
	ck_assert_str_eq(line, "{\"sid\":\"" SID
			       "\",\"t\":2.000000,\"exit\":{\"pid\":9,\"code\":3,\"signal\":null,"
			       "\"dur\":0.004200}}\n");
	x = (struct shard_exit){ .pid = 9, .code = -1, .signal = 9, .dur = -1 };
	n = shard_format_exit(line, sizeof(line), SID, 2, &x);
	line[n] = '\0';
	ck_assert_str_eq(line, "{\"sid\":\"" SID
			       "\",\"t\":2.000000,\"exit\":{\"pid\":9,\"code\":null,\"signal\":9,"
			       "\"dur\":null}}\n");
	ck_assert_int_eq(shard_format_exit(line, 20, SID, 2, &x), -ENOSPC);
}
END_TEST

START_TEST(test_argv_text)
{
	static const uint8_t args[] = "echo\0a b\0\"q\"\n\0";
	char out[64], small[8];

	ck_assert_uint_eq(shard_argv_text(out, sizeof(out), args, sizeof(args) - 1), strlen(out));
	ck_assert_str_eq(out, "echo a b \\\"q\\\"\\n");
	shard_argv_text(small, sizeof(small), args, sizeof(args) - 1);
	ck_assert_str_eq(small, "echo a ");
}
END_TEST

static Suite *shardcmd_suite(void)
{
	Suite *s = suite_create("shardcmd");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_exec_layout);
	tcase_add_test(tc, test_exec_unknown);
	tcase_add_test(tc, test_exec_hostile);
	tcase_add_test(tc, test_exec_huge_argument);
	tcase_add_test(tc, test_exec_caps);
	tcase_add_test(tc, test_exec_random);
	tcase_add_test(tc, test_exit);
	tcase_add_test(tc, test_argv_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(shardcmd_suite());
}
