/* Unit tests for common/authrec: the auth file's line (valid JSON, every
 * field, hostile names escaped, under 4096 bytes whatever the input) and
 * its event. */
#include <check.h>
#include <json-c/json.h>
#include <string.h>

#include "authrec.h"
#include "testutil.h"

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

START_TEST(test_line)
{
	struct authrec a = { .sec = 1796548300,
			     .usec = 123456,
			     .user = "ev\"il]\n\x1b[31m",
			     .src_ip = "127.0.0.1",
			     .src_port = 4242,
			     .service = "sshd",
			     .method = "publickey",
			     .reason = "key_rejected",
			     .key_type = "ED25519",
			     .key_fp = "SHA256:x",
			     .source = "journal",
			     .pid = 77 };
	char line[AUTHREC_LINE_MAX], path[128];
	struct json_object *o;
	int n = authrec_format(line, sizeof(line), &a);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(line[n - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\x1b', (size_t)n));
	ck_assert_ptr_null(memchr(line, '\n', (size_t)n - 1));
	o = json_tokener_parse(line);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(jstr(o, "time"), "2026-12-06T09:11:40.123456Z");
	ck_assert_str_eq(jstr(o, "event"), "auth_failed");
	ck_assert_str_eq(jstr(o, "user"), a.user);
	ck_assert_str_eq(jstr(o, "src_port"), "4242");
	ck_assert_str_eq(jstr(o, "key_fp"), "SHA256:x");
	ck_assert_str_eq(jstr(o, "pid"), "77");
	json_object_put(o);
	a = (struct authrec){ .ok = true, .sec = 0, .user = "u" };
	n = authrec_format(line, sizeof(line), &a);
	ck_assert_str_eq(line,
			 "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"event\":\"auth_succeeded\",\"user\":\"u\"}\n");
	ck_assert_int_eq(authrec_path(path, sizeof(path), "/d", 1796548300), (int)strlen("/d/auth-2026-12-06.jsonl"));
	ck_assert_str_eq(path, "/d/auth-2026-12-06.jsonl");
}
END_TEST

START_TEST(test_huge_fields)
{
	static char big[20000];
	struct authrec a = { .user = big,
			     .src_ip = big,
			     .service = big,
			     .method = big,
			     .reason = big,
			     .key_type = big,
			     .key_fp = big,
			     .source = big,
			     .src_port = 65535,
			     .pid = 99999999 };
	char line[AUTHREC_LINE_MAX];
	struct json_object *o;
	int n;

	memset(big, '\x01', sizeof(big) - 1); /* each escaped to six bytes */
	n = authrec_format(line, sizeof(line), &a);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, AUTHREC_LINE_MAX);
	o = json_tokener_parse(line);
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
}
END_TEST

START_TEST(test_event)
{
	struct authrec a = { .user = "u", .src_ip = "1.2.3.4", .src_port = 5, .method = "password", .pid = 0 };
	struct event e;
	char port[24], pid[24];

	authrec_event(&e, &a, port, pid);
	ck_assert_int_eq(e.type, EVENT_AUTH_FAILED);
	ck_assert_str_eq(e.params[0].name, "user");
	ck_assert_str_eq(e.params[2].name, "src_port");
	ck_assert_str_eq(e.params[2].value, "5");
	for (size_t i = 0; i < e.nparams; i++)
		ck_assert_str_ne(e.params[i].name, "pid");
	a.ok = true;
	authrec_event(&e, &a, port, pid);
	ck_assert_int_eq(e.type, EVENT_AUTH_SUCCEEDED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("authrec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_line);
	tcase_add_test(tc, test_huge_fields);
	tcase_add_test(tc, test_event);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
