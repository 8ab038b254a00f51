/* Unit tests for sessrecd/state: a session's state survives JSON and a
 * state file byte-exact (termios included); every malformed or
 * out-of-range file is refused whole, never half-loaded. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "state.h"
#include "testutil.h"

static void sample(struct session_state *st)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->sid, "0f6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
	strcpy(st->user, "r\xc3\xb6ot \"quoted\" \\ user");
	strcpy(st->service, "sshd");
	strcpy(st->proto, "ssh");
	strcpy(st->src_ip, "2001:db8::1");
	strcpy(st->tty, "/dev/pts/7");
	strcpy(st->auth, "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI");
	strcpy(st->cmd, "");
	strcpy(st->term, "xterm-256color");
	strcpy(st->shell, "/bin/bash");
	strcpy(st->shard, "/var/lib/sessrec/sessions-2026-11-24.jsonl");
	st->uid = 1000;
	st->pid = 4242;
	st->audit_session = 4294967295LL;
	st->src_port = 50022;
	st->input = true;
	st->dry_run = false;
	st->start_sec = 1795526031;
	st->start_usec = 999999;
	st->start_mono_ns = 123456789012345LL;
	st->bytes_in = 17;
	st->bytes_out = 18446744073709551615ULL;
	st->bytes_recorded = 4096;
	st->withheld = 8;
	st->resizes = 3;
	st->truncated = true;
	st->failed = false;
	st->have_termios = true;
	st->termios.c_iflag = ICRNL | IXON;
	st->termios.c_oflag = OPOST | ONLCR;
	st->termios.c_cflag = CS8 | CREAD;
	st->termios.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | IEXTEN;
	st->termios.c_line = 0;
	for (size_t i = 0; i < NCCS; i++)
		st->termios.c_cc[i] = (cc_t)(i * 7 + 1);
	cfsetispeed(&st->termios, B38400);
	cfsetospeed(&st->termios, B9600);
	st->cols = 101;
	st->rows = 33;
	strcpy(st->owner, "/run/sessrec/sessrecd.sock");
	st->cap = 10485760;
	st->withhold = true;
	st->saved_ns = 123456789999999LL;
	st->handoff_ns = 123456790000000LL;
}

static void assert_same(const struct session_state *a, const struct session_state *b)
{
	ck_assert_str_eq(a->sid, b->sid);
	ck_assert_str_eq(a->user, b->user);
	ck_assert_str_eq(a->service, b->service);
	ck_assert_str_eq(a->proto, b->proto);
	ck_assert_str_eq(a->src_ip, b->src_ip);
	ck_assert_str_eq(a->tty, b->tty);
	ck_assert_str_eq(a->auth, b->auth);
	ck_assert_str_eq(a->cmd, b->cmd);
	ck_assert_str_eq(a->term, b->term);
	ck_assert_str_eq(a->shell, b->shell);
	ck_assert_str_eq(a->shard, b->shard);
	ck_assert_int_eq(a->uid, b->uid);
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_int_eq(a->audit_session, b->audit_session);
	ck_assert_int_eq(a->src_port, b->src_port);
	ck_assert_int_eq(a->input, b->input);
	ck_assert_int_eq(a->dry_run, b->dry_run);
	ck_assert_int_eq(a->start_sec, b->start_sec);
	ck_assert_int_eq(a->start_usec, b->start_usec);
	ck_assert_int_eq(a->start_mono_ns, b->start_mono_ns);
	ck_assert_uint_eq(a->bytes_in, b->bytes_in);
	ck_assert_uint_eq(a->bytes_out, b->bytes_out);
	ck_assert_uint_eq(a->bytes_recorded, b->bytes_recorded);
	ck_assert_uint_eq(a->withheld, b->withheld);
	ck_assert_uint_eq(a->resizes, b->resizes);
	ck_assert_int_eq(a->truncated, b->truncated);
	ck_assert_int_eq(a->failed, b->failed);
	ck_assert_int_eq(a->have_termios, b->have_termios);
	ck_assert_uint_eq(a->cols, b->cols);
	ck_assert_uint_eq(a->rows, b->rows);
	ck_assert_str_eq(a->owner, b->owner);
	ck_assert_uint_eq(a->cap, b->cap);
	ck_assert_int_eq(a->withhold, b->withhold);
	ck_assert_int_eq(a->saved_ns, b->saved_ns);
	ck_assert_int_eq(a->handoff_ns, b->handoff_ns);
	if (a->have_termios) {
		ck_assert_uint_eq(a->termios.c_iflag, b->termios.c_iflag);
		ck_assert_uint_eq(a->termios.c_oflag, b->termios.c_oflag);
		ck_assert_uint_eq(a->termios.c_cflag, b->termios.c_cflag);
		ck_assert_uint_eq(a->termios.c_lflag, b->termios.c_lflag);
		ck_assert_uint_eq(a->termios.c_line, b->termios.c_line);
		ck_assert(memcmp(a->termios.c_cc, b->termios.c_cc, NCCS) == 0);
		ck_assert_uint_eq(cfgetispeed(&a->termios), cfgetispeed(&b->termios));
		ck_assert_uint_eq(cfgetospeed(&a->termios), cfgetospeed(&b->termios));
	}
}

START_TEST(test_roundtrip)
{
	struct session_state a, b;
	char buf[STATE_JSON_MAX];
	int n;

	sample(&a);
	if (_i == 1) {
		a.have_termios = false;
		memset(&a.termios, 0, sizeof(a.termios));
		a.audit_session = -1;
		strcpy(a.cmd, "scp -t /tmp");
	}
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	ck_assert_int_eq(state_from_json(buf, (size_t)n, &b), 0);
	assert_same(&a, &b);
}
END_TEST

START_TEST(test_file)
{
	char dir[] = "/tmp/test_sessrecd_state.XXXXXX", path[PATH_MAX], buf[STATE_JSON_MAX];
	struct session_state a, b;
	int n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	sample(&a);
	ck_assert_int_gt(state_path(path, sizeof(path), dir, a.sid), 0);
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(io_write_atomic(path, buf, (size_t)n, 0600), 0);
	ck_assert_int_eq(state_load(path, &b), 0);
	assert_same(&a, &b);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(state_load(path, &b), -ENOENT);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_too_small)
{
	struct session_state a;
	char buf[64];

	sample(&a);
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(state_to_json(&a, buf, sizeof(buf)), -ENOSPC);
}
END_TEST

/* Each edit of a good file, applied by replacing the first occurrence of
 * from with to, must make it unloadable. */
/* clang-format off */
static const struct {
	const char *from, *to;
} edits[] = {
	{ "\"version\":1", "\"version\":2" },
	{ "\"version\":1,", "" },
	{ "\"uid\":1000", "\"uid\":\"1000\"" },
	{ "\"uid\":1000,", "" },
	{ "\"sid\":\"0f6f1a2b", "\"sid\":\"0F6F1A2B" },
	{ "\"input\":true", "\"input\":1" },
	{ "\"bytes_in\":17", "\"bytes_in\":-17" },
	{ "\"cols\":101", "\"cols\":4294967296" },
	{ "\"start_usec\":999999", "\"start_usec\":1000000" },
	{ "\"outer_fd\":-1", "\"outer_fd\":2147483648" },
	{ "\"owner\":\"/run", "\"owner\":7,\"x\":\"" },
	{ "\"cap\":10485760", "\"cap\":-1" },
	{ "\"withhold\":true", "\"withhold\":\"yes\"" },
	{ "\"handoff_ns\":123456790000000,", "" },
	{ "\"cc\":\"", "\"cc\":\"zz" },
	{ "\"lflag\":", "\"lflagx\":" },
	{ "\"tty\":\"/dev/pts/7\"", "\"tty\":\"/dev/pts/7\\u0000x\"" },
	{ "\"tty\":\"/dev/pts/7\"", "\"tty\":\"" "/dev/pts/0123456789012345678901234567890123456789012345678901234567\"" },
	{ "}}", "}},\"extra\":" },
	{ "{\"version\"", "[{\"version\"" },
};
/* clang-format on */

START_TEST(test_malformed)
{
	struct session_state a, b;
	char buf[STATE_JSON_MAX], out[STATE_JSON_MAX + 256];
	const char *at;
	size_t pre;
	int n;

	sample(&a);
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	at = strstr(buf, edits[_i].from);
	ck_assert_msg(at != NULL, "edit %d: '%s' not in %s", _i, edits[_i].from, buf);
	pre = (size_t)(at - buf);
	memcpy(out, buf, pre);
	strcpy(out + pre, edits[_i].to);
	strcat(out, at + strlen(edits[_i].from));
	memset(&b, 'Z', sizeof(b));
	ck_assert_int_eq(state_from_json(out, strlen(out), &b), -EINVAL);
	/* Refused whole: nothing of the bad file is left behind. */
	ck_assert_str_eq(b.sid, "");
	ck_assert_str_eq(b.user, "");
}
END_TEST

START_TEST(test_garbage)
{
	static const char *const bad[] = { "", "{}", "null", "{\"version\":1}", "{\"version\":1", "\x01\x02" };
	struct session_state b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(state_from_json(bad[i], strlen(bad[i]), &b), -EINVAL);
	ck_assert_int_eq(state_from_json("{}\0{}", 5, &b), -EINVAL);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("sessrecd_state");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_roundtrip, 0, 2);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_too_small);
	tcase_add_loop_test(tc, test_malformed, 0, sizeof(edits) / sizeof(edits[0]));
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(state_suite());
}
