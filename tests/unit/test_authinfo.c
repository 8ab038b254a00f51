/* Unit tests for common/authinfo: SSH_AUTH_INFO_0 to method, key type and
 * the fingerprint ssh-keygen -l prints (a key made by ssh-keygen, its
 * fingerprint as ssh-keygen -lf printed it), several steps, and input that
 * is not auth info. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "authinfo.h"
#include "testutil.h"

#define KEY "AAAAC3NzaC1lZDI1NTE5AAAAICO9+Cel+6kHRTCp/6BDFGqBUA8s8a+DPlb4azhMRjUN"
#define FP "SHA256:zJ7+qQh+eUBn1c4JgF4Qzp+fyleuD5GkfNxm2M39wFk"

static struct authinfo parse(const char *s, int want)
{
	struct authinfo ai;

	ck_assert_int_eq(authinfo_parse(s, strlen(s), &ai), want);
	return ai;
}

START_TEST(test_publickey)
{
	struct authinfo ai = parse("publickey ssh-ed25519 " KEY "\n", 0);
	char sum[256];

	ck_assert_str_eq(ai.method, "publickey");
	ck_assert_str_eq(ai.key_type, "ssh-ed25519");
	ck_assert_str_eq(ai.key_fp, FP);
	ck_assert_int_eq(authinfo_summary(&ai, sum, sizeof(sum)), (int)strlen("publickey ssh-ed25519 " FP));
	ck_assert_str_eq(sum, "publickey ssh-ed25519 " FP);
	ck_assert_int_eq(authinfo_summary(&ai, sum, 20), -ENOSPC);
}
END_TEST

START_TEST(test_password_and_steps)
{
	struct authinfo ai = parse("password", 0);
	char sum[64];

	ck_assert_str_eq(ai.method, "password");
	ck_assert_str_eq(ai.key_type, "");
	ck_assert_str_eq(ai.key_fp, "");
	authinfo_summary(&ai, sum, sizeof(sum));
	ck_assert_str_eq(sum, "password");
	ai = parse("keyboard-interactive\n", 0);
	ck_assert_str_eq(ai.method, "keyboard-interactive");
	ai = parse("publickey ssh-ed25519 " KEY "\npassword\n", 0);
	ck_assert_str_eq(ai.method, "publickey,password");
	ck_assert_str_eq(ai.key_fp, FP);
}
END_TEST

START_TEST(test_not_auth_info)
{
	struct authinfo ai;

	parse("", -EINVAL);
	parse("\n\n", -EINVAL);
	parse("Pass\x1b[2Jword", -EINVAL);
	/* a key that is not base64: the method stays, no key */
	ai = parse("publickey ssh-ed25519 !!!!", 0);
	ck_assert_str_eq(ai.method, "publickey");
	ck_assert_str_eq(ai.key_fp, "");
	ai = parse("publickey", 0);
	ck_assert_str_eq(ai.key_type, "");
	ai = parse("publickey ssh\"rsa " KEY, 0);
	ck_assert_str_eq(ai.key_type, "");
}
END_TEST

START_TEST(test_fingerprint_vector)
{
	char fp[AUTHINFO_FP_MAX];

	/* SHA-256("abc") = ba7816bf...; its base64 without the padding */
	ck_assert_int_eq(authinfo_fingerprint((const uint8_t *)"abc", 3, fp, sizeof(fp)), 50);
	ck_assert_str_eq(fp, "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
	ck_assert_int_eq(authinfo_fingerprint((const uint8_t *)"abc", 3, fp, 50), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("authinfo");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_publickey);
	tcase_add_test(tc, test_password_and_steps);
	tcase_add_test(tc, test_not_auth_info);
	tcase_add_test(tc, test_fingerprint_vector);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
