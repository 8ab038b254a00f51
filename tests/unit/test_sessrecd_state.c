/* Unit tests for sessrecd/state: a session's state survives JSON and a
 * state file byte-exact (termios included); every malformed or
 * out-of-range file is refused whole, never half-loaded. Also the live
 * half of it, the relay state memfd (relaymem): rings contiguous across
 * their end, the counters checked on opening, the fill pattern telling
 * what a cut read took, the anchor; and shardtail, which tells how far a
 * shard holds a session's output. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "relaymem.h"
#include "shardtail.h"
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
	ck_assert_int_eq(state_set(&st->auth, STATE_AUTH_MAX, "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"), 0);
	ck_assert_int_eq(state_set(&st->cmd, STATE_CMD_MAX, ""), 0);
	strcpy(st->term, "xterm-256color");
	strcpy(st->shell, "/bin/bash");
	ck_assert_int_eq(state_set(&st->shard, STATE_PATH_MAX, "/var/lib/sessrec/sessions-2026-11-24.jsonl"), 0);
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
	st->withheld_lines = 5;
	st->out_recorded = 2048;
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
	ck_assert_int_eq(state_set(&st->owner, STATE_PATH_MAX, "/run/sessrec/sessrecd.sock"), 0);
	st->cap = 10485760;
	st->withhold = true;
	st->saved_ns = 123456789999999LL;
	st->handoff_ns = 123456790000000LL;
	st->fail_closed = true;
	st->loss = (struct state_loss){ .stage = 2,
					.err = 28,
					.at_least = true,
					.out_at_least = false,
					.stated_at_least = true,
					.pending_bytes = 4096,
					.pending_out = 3900,
					.pending_in = 7,
					.stated_bytes = 1ULL << 40,
					.stated_out = 99,
					.stated_in = 1,
					.off = 5555 };
}

static void assert_same(const struct session_state *a, const struct session_state *b)
{
	ck_assert_str_eq(a->sid, b->sid);
	ck_assert_str_eq(a->user, b->user);
	ck_assert_str_eq(a->service, b->service);
	ck_assert_str_eq(a->proto, b->proto);
	ck_assert_str_eq(a->src_ip, b->src_ip);
	ck_assert_str_eq(a->tty, b->tty);
	ck_assert_str_eq(state_str(a->auth), state_str(b->auth));
	ck_assert_str_eq(state_str(a->cmd), state_str(b->cmd));
	ck_assert_str_eq(a->term, b->term);
	ck_assert_str_eq(a->shell, b->shell);
	ck_assert_str_eq(state_str(a->shard), state_str(b->shard));
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
	ck_assert_uint_eq(a->withheld_lines, b->withheld_lines);
	ck_assert_uint_eq(a->out_recorded, b->out_recorded);
	ck_assert_uint_eq(a->resizes, b->resizes);
	ck_assert_int_eq(a->truncated, b->truncated);
	ck_assert_int_eq(a->failed, b->failed);
	ck_assert_int_eq(a->have_termios, b->have_termios);
	ck_assert_uint_eq(a->cols, b->cols);
	ck_assert_uint_eq(a->rows, b->rows);
	ck_assert_str_eq(state_str(a->owner), state_str(b->owner));
	ck_assert_uint_eq(a->cap, b->cap);
	ck_assert_int_eq(a->withhold, b->withhold);
	ck_assert_int_eq(a->saved_ns, b->saved_ns);
	ck_assert_int_eq(a->handoff_ns, b->handoff_ns);
	ck_assert_int_eq(a->fail_closed, b->fail_closed);
	ck_assert_int_eq(a->loss.stage, b->loss.stage);
	ck_assert_int_eq(a->loss.err, b->loss.err);
	ck_assert_int_eq(a->loss.at_least, b->loss.at_least);
	ck_assert_int_eq(a->loss.out_at_least, b->loss.out_at_least);
	ck_assert_int_eq(a->loss.stated_at_least, b->loss.stated_at_least);
	ck_assert_uint_eq(a->loss.pending_bytes, b->loss.pending_bytes);
	ck_assert_uint_eq(a->loss.pending_out, b->loss.pending_out);
	ck_assert_uint_eq(a->loss.pending_in, b->loss.pending_in);
	ck_assert_uint_eq(a->loss.stated_bytes, b->loss.stated_bytes);
	ck_assert_uint_eq(a->loss.stated_out, b->loss.stated_out);
	ck_assert_uint_eq(a->loss.stated_in, b->loss.stated_in);
	ck_assert_uint_eq(a->loss.off, b->loss.off);
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
		ck_assert_int_eq(state_set(&a.cmd, STATE_CMD_MAX, "scp -t /tmp"), 0);
	}
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	ck_assert_int_eq(state_from_json(buf, (size_t)n, &b), 0);
	assert_same(&a, &b);
	state_free(&a);
	state_free(&b);
}
END_TEST

/* A loss in progress is in the state file; one of an older daemon (no
 * "loss") is read as no loss; a bad "loss" is refused. */
START_TEST(test_loss)
{
	struct session_state a, b;
	char buf[STATE_JSON_MAX], *at, *end;
	int n;

	sample(&a);
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"loss\":{\"stage\":2,\"err\":28,"));
	at = strstr(buf, "\"stage\":2");
	at[8] = '9';
	ck_assert_int_eq(state_from_json(buf, (size_t)n, &b), -EINVAL);
	at[8] = '2';
	at = strstr(buf, ",\"loss\":{");
	end = strchr(at, '}');
	memmove(at, end + 1, strlen(end + 1) + 1);
	ck_assert_int_eq(state_from_json(buf, strlen(buf), &b), 0);
	ck_assert_int_eq(b.loss.stage, 0);
	ck_assert_uint_eq(b.loss.pending_bytes, 0);
	ck_assert_uint_eq(b.loss.stated_bytes, 0);
	ck_assert_int_eq(b.loss.err, 0);
	state_free(&a);
	state_free(&b);
}
END_TEST

/* The owner of a taken terminal is in the state file, exactly, so a
 * restarted daemon gives it back; a state file without one (an older
 * daemon's, or a terminal not taken) reads as not taken; bad values are
 * refused. */
START_TEST(test_tty_owner)
{
	struct session_state a, b;
	char buf[STATE_JSON_MAX], *at;
	int n;

	sample(&a);
	a.tty_owner = (struct state_tty_owner){ .taken = true, .uid = 1001, .gid = 5, .mode = 0620 };
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"tty_owner\":{\"uid\":1001,\"gid\":5,\"mode\":400}"));
	ck_assert_int_eq(state_from_json(buf, (size_t)n, &b), 0);
	ck_assert(b.tty_owner.taken);
	ck_assert_int_eq(b.tty_owner.uid, 1001);
	ck_assert_int_eq(b.tty_owner.gid, 5);
	ck_assert_uint_eq(b.tty_owner.mode, 0620);
	state_free(&b);
	at = strstr(buf, "\"mode\":400");
	memcpy(at, "\"mode\":9999999", 14);
	ck_assert_int_eq(state_from_json(buf, strlen(buf), &b), -EINVAL);
	a.tty_owner.taken = false;
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "tty_owner"));
	ck_assert_int_eq(state_from_json(buf, (size_t)n, &b), 0);
	ck_assert(!b.tty_owner.taken);
	state_free(&a);
	state_free(&b);
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
	state_free(&b);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(state_load(path, &b), -ENOENT);
	ck_assert_int_eq(rmdir(dir), 0);
	state_free(&a);
}
END_TEST

START_TEST(test_too_small)
{
	struct session_state a;
	char buf[64];

	sample(&a);
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(state_to_json(&a, buf, sizeof(buf)), -ENOSPC);
	state_free(&a);
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
	{ "\"fail_closed\":true", "\"fail_closed\":\"closed\"" },
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
	state_free(&a);
}
END_TEST

/* A state file of an older daemon has no fail_closed: the login is fail=open. */
START_TEST(test_no_fail_closed)
{
	struct session_state a, b;
	char buf[STATE_JSON_MAX], out[STATE_JSON_MAX];
	const char *at;
	int n;

	sample(&a);
	n = state_to_json(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	at = strstr(buf, ",\"fail_closed\":true");
	ck_assert_ptr_nonnull(at);
	memcpy(out, buf, (size_t)(at - buf));
	strcpy(out + (at - buf), at + strlen(",\"fail_closed\":true"));
	ck_assert_int_eq(state_from_json(out, strlen(out), &b), 0);
	ck_assert_int_eq(b.fail_closed, false);
	a.fail_closed = false;
	assert_same(&a, &b);
	state_free(&a);
	state_free(&b);
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

START_TEST(test_relaymem_ring)
{
	struct relaymem m, o;
	uint64_t pos = 5 * (uint64_t)RELAYMEM_OUT_CAP - 3;
	int dup_fd;

	ck_assert_int_eq(relaymem_create(&m, pos, 11), 0);
	ck_assert(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(fcntl(m.fd, F_GET_SEALS) & (F_SEAL_GROW | F_SEAL_SHRINK), F_SEAL_GROW | F_SEAL_SHRINK);
	/* Across the ring's end in one span, seen at the start through the
	 * second mapping and by another mapping of the same memfd. */
	memcpy(relaymem_out_at(&m, pos), "abcdefgh", 8);
	relaymem_barrier();
	ck_assert(memcmp(m.out, "defgh", 5) == 0);
	relaymem_set(&m.h->out_read, pos + 8);
	relaymem_set(&m.h->out_reading, pos + 8);
	memcpy(relaymem_in_at(&m, 11), "ls\r", 3);
	relaymem_set(&m.h->in_read, 14);
	dup_fd = dup(m.fd);
	ck_assert_int_eq(relaymem_open(&o, dup_fd), 0);
	ck_assert_uint_eq(o.h->out_read, pos + 8);
	ck_assert_uint_eq(o.h->out_kept, pos);
	ck_assert(memcmp(relaymem_out_at(&o, pos), "abcdefgh", 8) == 0);
	ck_assert(memcmp(relaymem_in_at(&o, 11), "ls\r", 3) == 0);
	ck_assert(memcmp(o.pat, m.pat, RELAYMEM_PAT) == 0);
	relaymem_close(&o);
	/* Counters that contradict each other: refused, the fd stays ours. */
	m.h->out_shown = pos + 9;
	dup_fd = dup(m.fd);
	ck_assert_int_eq(relaymem_open(&o, dup_fd), -EINVAL);
	ck_assert_int_eq(o.fd, -1);
	close(dup_fd);
	m.h->out_shown = pos;
	m.h->out_read = pos + RELAYMEM_OUT_CAP + 1; /* more than the ring holds */
	ck_assert(!relaymem_valid(m.h));
	m.h->out_read = pos + 8;
	ck_assert(relaymem_valid(m.h));
	m.h->version = RELAYMEM_VERSION + 1;
	ck_assert(!relaymem_valid(m.h));
	relaymem_close(&m);
	ck_assert_int_eq(m.fd, -1);
}
END_TEST

START_TEST(test_relaymem_taken)
{
	struct relaymem m;
	uint64_t pos = RELAYMEM_OUT_CAP - 100; /* the fill crosses the ring's end */
	uint8_t data[300];

	ck_assert_int_eq(relaymem_create(&m, pos, 0), 0);
	relaymem_fill(&m, pos, RELAYMEM_READ_MAX);
	relaymem_barrier();
	ck_assert_uint_eq(relaymem_taken(&m, pos, RELAYMEM_READ_MAX), 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(m.pat[(pos + i) % RELAYMEM_PAT] ^ 0x5a);
	memcpy(relaymem_out_at(&m, pos), data, sizeof(data));
	relaymem_barrier();
	ck_assert_uint_eq(relaymem_taken(&m, pos, RELAYMEM_READ_MAX), sizeof(data));
	/* A last byte equal to the pattern's at its place counts short: the
	 * one case the pattern cannot tell (documented in sessrecd(8)). */
	relaymem_out_at(&m, pos)[sizeof(data) - 1] = m.pat[(pos + sizeof(data) - 1) % RELAYMEM_PAT];
	relaymem_barrier();
	ck_assert_uint_eq(relaymem_taken(&m, pos, RELAYMEM_READ_MAX), sizeof(data) - 1);
	relaymem_close(&m);
}
END_TEST

START_TEST(test_relaymem_anchor)
{
	struct relaymem m;
	struct relaymem_anchor a = { 100, 7, 1, 2 }, b = { 200, 9, 1, 2 };

	ck_assert_int_eq(relaymem_create(&m, 0, 0), 0);
	ck_assert_ptr_null(relaymem_anchor(&m));
	relaymem_set_anchor(&m, &a);
	ck_assert_uint_eq(relaymem_anchor(&m)->off, 100);
	relaymem_set_anchor(&m, &b);
	ck_assert_uint_eq(relaymem_anchor(&m)->off, 200);
	ck_assert_uint_eq(relaymem_anchor(&m)->pos, 9);
	/* the one it replaced is still whole in its slot */
	ck_assert_uint_eq(m.h->anchor[m.h->anchor_at == 1 ? 1 : 0].off, 100);
	relaymem_close(&m);
}
END_TEST

#define SID1 "0f6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define SID2 "1f6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"

START_TEST(test_shardtail)
{
	static const char head[] = "{\"sid\":\"" SID1 "\",\"t\":0.1,\"ch\":\"o\",\"d\":\"before\"}\n";
	static const char tail[] = "{\"sid\":\"" SID1
				   "\",\"t\":0.2,\"ch\":\"o\",\"d\":\"h\\u00e9\\n\"}\n" /* 4 bytes */
				   "{\"sid\":\"" SID2
				   "\",\"t\":0.2,\"ch\":\"o\",\"d\":\"other session\"}\n" /* not ours */
				   "{\"sid\":\"" SID1
				   "\",\"t\":0.3,\"ch\":\"i\",\"d\":\"typed\"}\n" /* not output */
				   "{\"sid\":\"" SID1
				   "\",\"t\":0.4,\"ch\":\"m\",\"d\":\"a marker\"}\n" /* not output */
				   "not a shard line\n"
				   "{\"sid\":\"" SID1
				   "\",\"t\":0.5,\"ch\":\"o\",\"d\":\"\\ufffd\",\"raw\":\"/w==\"}\n" /* 1 raw byte */
				   "{\"sid\":\"" SID1
				   "\",\"t\":0.6,\"ch\":\"o\",\"d\":\"torn"; /* no newline: no line */
	char path[] = "/tmp/test_shardtail.XXXXXX";
	int fd = mkstemp(path);
	uint64_t n = 99;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(io_write_full(fd, head, strlen(head)), 0);
	ck_assert_int_eq(io_write_full(fd, tail, strlen(tail)), 0);
	ck_assert_int_eq(shardtail_bytes(fd, strlen(head), SID1, 'o', &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(shardtail_bytes(fd, 0, SID1, 'o', &n), 0);
	ck_assert_uint_eq(n, 11);
	ck_assert_int_eq(shardtail_bytes(fd, 0, SID2, 'o', &n), 0);
	ck_assert_uint_eq(n, 13);
	ck_assert_int_eq(shardtail_bytes(fd, strlen(head) + strlen(tail), SID1, 'o', &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(shardtail_bytes(fd, strlen(head) + strlen(tail) + 1, SID1, 'o', &n), -ESTALE);
	close(fd);
	unlink(path);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("sessrecd_state");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_roundtrip, 0, 2);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_loss);
	tcase_add_test(tc, test_tty_owner);
	tcase_add_test(tc, test_too_small);
	tcase_add_loop_test(tc, test_malformed, 0, sizeof(edits) / sizeof(edits[0]));
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_no_fail_closed);
	tcase_add_test(tc, test_relaymem_ring);
	tcase_add_test(tc, test_relaymem_taken);
	tcase_add_test(tc, test_relaymem_anchor);
	tcase_add_test(tc, test_shardtail);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(state_suite());
}
