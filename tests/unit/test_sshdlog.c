/* Unit tests for common/sshdlog: sshd's authentication lines as OpenSSH 9.2
 * logs them (at LogLevel INFO and VERBOSE), user names sshd escaped
 * (strnvis) or holding spaces and " from ", and lines that are not these. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "sshdlog.h"
#include "testutil.h"

static struct sshdlog parse(const char *s, int want)
{
	struct sshdlog l;

	ck_assert_int_eq(sshdlog_parse(s, strlen(s), &l), want);
	return l;
}

START_TEST(test_failed_and_accepted)
{
	struct sshdlog l = parse("Failed password for alice from 192.0.2.7 port 50022 ssh2", 0);

	ck_assert_int_eq(l.kind, SSHDLOG_FAILED);
	ck_assert_str_eq(l.method, "password");
	ck_assert_str_eq(l.user, "alice");
	ck_assert_str_eq(l.src_ip, "192.0.2.7");
	ck_assert_int_eq(l.src_port, 50022);
	ck_assert(!l.invalid_user);
	ck_assert_str_eq(l.key_fp, "");
	l = parse("Failed publickey for bob from 2001:db8::1 port 4 ssh2: ED25519 SHA256:zJ7+qQh+eUBn1c4JgF4Q", 0);
	ck_assert_str_eq(l.method, "publickey");
	ck_assert_str_eq(l.src_ip, "2001:db8::1");
	ck_assert_str_eq(l.key_type, "ED25519");
	ck_assert_str_eq(l.key_fp, "SHA256:zJ7+qQh+eUBn1c4JgF4Q");
	l = parse("Accepted publickey for carol from 127.0.0.1 port 33476 ssh2: RSA SHA256:abc\n", 0);
	ck_assert_int_eq(l.kind, SSHDLOG_ACCEPTED);
	ck_assert_str_eq(l.user, "carol");
	ck_assert_str_eq(l.key_type, "RSA");
	l = parse("Failed keyboard-interactive/pam for invalid user x from 10.0.0.1 port 9 ssh2", 0);
	ck_assert(l.invalid_user);
	ck_assert_str_eq(l.method, "keyboard-interactive/pam");
	ck_assert_str_eq(l.user, "x");
}
END_TEST

START_TEST(test_invalid_and_closed)
{
	struct sshdlog l = parse("Invalid user admin from 198.51.100.2 port 61000", 0);

	ck_assert_int_eq(l.kind, SSHDLOG_INVALID);
	ck_assert(l.invalid_user);
	ck_assert_str_eq(l.user, "admin");
	l = parse("Connection closed by authenticating user dave 127.0.0.1 port 40000 [preauth]", 0);
	ck_assert_int_eq(l.kind, SSHDLOG_CLOSED);
	ck_assert_str_eq(l.user, "dave");
	ck_assert_int_eq(l.src_port, 40000);
	l = parse("Disconnected from invalid user eve 127.0.0.1 port 40001 [preauth]", 0);
	ck_assert(l.invalid_user);
	ck_assert_str_eq(l.user, "eve");
	l = parse("Connection reset by authenticating user f 10.1.1.1 port 22 [preauth]", 0);
	ck_assert_str_eq(l.user, "f");
	parse("Connection closed by 127.0.0.1 port 40002 [preauth]", -ENOENT);
	parse("Disconnected from user alice 127.0.0.1 port 40003", -ENOENT);
	parse("Received disconnect from 127.0.0.1 port 40004:11: Bye Bye [preauth]", -ENOENT);
	parse("Server listening on 0.0.0.0 port 22.", -ENOENT);
}
END_TEST

START_TEST(test_hostile_names)
{
	/* sshd's strnvis: \" stays, newline \n, ESC \033, backslash \\ */
	struct sshdlog l = parse("Failed password for invalid user ev\"il]\\n\\033[31m\\\\x from 127.0.0.1 port 1 ssh2",
				 0);

	ck_assert_str_eq(l.user, "ev\"il]\n\x1b[31m\\x");
	/* a name with " from " and spaces in it is still one name */
	l = parse("Invalid user a from 1.2.3.4 port 5 b from 127.0.0.1 port 6", 0);
	ck_assert_str_eq(l.user, "a from 1.2.3.4 port 5 b");
	ck_assert_str_eq(l.src_ip, "127.0.0.1");
	ck_assert_int_eq(l.src_port, 6);
	/* an escaped NUL ends the name */
	l = parse("Invalid user ab\\000cd from 127.0.0.1 port 6", 0);
	ck_assert_str_eq(l.user, "ab");
	parse("Failed password for alice from nowhere", -EINVAL);
	parse("Failed password for alice from 1.2.3.4 port 70000 ssh2", -EINVAL);
	parse("Failed password for alice from <script> port 1 ssh2", -EINVAL);
	parse("Failed", -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sshdlog");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_failed_and_accepted);
	tcase_add_test(tc, test_invalid_and_closed);
	tcase_add_test(tc, test_hostile_names);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
