/* Unit tests for sessrecd's relay of a command session without a pty
 * (relaypipe), through the real session and recorder with the in-memory
 * sink (memsink.h): pipes stand in for sshd's side and the command's. Both
 * ways and EOF, bounded buffering when a side does not read, binary bytes
 * recorded losslessly, a transfer as size and SHA-256, a reader that goes. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "sessrig.h"
#include "testutil.h"

/* sessrig's daemon, with a command session on pipes. */
struct prig {
	struct rig base;
	struct daemon *d; /* base.d */
	struct memsink *mp;
	struct session *s;
	int sshd_in, sshd_out, sshd_err; /* sshd's ends: it writes stdin, reads stdout and stderr */
	int cmd[3];                      /* the command's ends the reply carries */
};

static void prig_init(struct prig *r, const char *cmd, bool metadata)
{
	int in[2], out[2], err[2], fds[3];
	char why[256] = "";

	memset(r, 0, sizeof(*r));
	rig_init(&r->base);
	r->d = r->base.d;
	r->mp = &r->base.m;
	r->d->cfg.transfer_metadata = metadata;
	r->s = session_new(r->d);
	ck_assert_ptr_nonnull(r->s);
	strcpy(r->s->st.user, "alice");
	r->s->st.uid = 1000;
	r->s->st.input = true;
	ck_assert_int_eq(state_set(&r->s->st.cmd, STATE_CMD_MAX, cmd), 0);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	r->sshd_in = in[1];
	r->sshd_out = out[0];
	r->sshd_err = err[0];
	fds[0] = in[0];
	fds[1] = out[1];
	fds[2] = err[1];
	ck_assert_msg(session_attach_command(r->d, r->s, fds, r->cmd, why, sizeof(why)) == 0, "attach: %s", why);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fds[i], -1);
		ck_assert(testutil_cloexec(r->cmd[i]));
	}
	/* the command's ends block, as a command expects */
	ck_assert_int_eq(fcntl(r->cmd[1], F_GETFL) & O_NONBLOCK, 0);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void prig_fini(struct prig *r)
{
	rig_fini(&r->base);
	close_fd(&r->sshd_in);
	close_fd(&r->sshd_out);
	close_fd(&r->sshd_err);
	for (int i = 0; i < 3; i++)
		close_fd(&r->cmd[i]);
}

static void pump(struct prig *r)
{
	for (int i = 0; i < 20; i++)
		(void)loop_run_once(&r->d->loop, 0);
}

/* Reads exactly n bytes from fd (blocking), running the loop meanwhile. */
static void read_exact(struct prig *r, int fd, uint8_t *buf, size_t n)
{
	size_t have = 0;
	int64_t end = mono_ms() + 5000;
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (have < n && mono_ms() < end) {
		ssize_t k = read(fd, buf + have, n - have);

		if (k > 0)
			have += (size_t)k;
		else
			(void)loop_run_once(&r->d->loop, 10);
	}
	fcntl(fd, F_SETFL, fl);
	ck_assert_uint_eq(have, n);
}

/* The bytes of channel ch the sink holds (raw wins over d). */
static size_t recorded(const struct prig *r, char ch, uint8_t *out, size_t cap)
{
	char want[16];
	size_t n = 0;

	snprintf(want, sizeof(want), "\"ch\":\"%c\"", ch);
	for (size_t i = 0; i < r->mp->nlines; i++) {
		struct json_object *o, *v;
		const char *s;
		ssize_t k;

		if (!strstr(r->mp->lines[i], want))
			continue;
		o = json_tokener_parse(r->mp->lines[i]);
		ck_assert_ptr_nonnull(o);
		if (json_object_object_get_ex(o, "raw", &v)) {
			s = json_object_get_string(v);
			k = b64_decode(out + n, s, strlen(s));
			ck_assert_int_ge(k, 0);
			n += (size_t)k;
		} else {
			ck_assert(json_object_object_get_ex(o, "d", &v));
			s = json_object_get_string(v);
			ck_assert_uint_le(n + strlen(s), cap);
			memcpy(out + n, s, strlen(s));
			n += strlen(s);
		}
		json_object_put(o);
	}
	return n;
}

START_TEST(test_both_ways_and_eof)
{
	struct prig r;
	uint8_t buf[64], rec[256];
	ssize_t n;

	prig_init(&r, "sort", false);
	ck_assert_int_eq(write(r.cmd[1], "out\n", 4), 4);
	ck_assert_int_eq(write(r.cmd[2], "err\n", 4), 4);
	ck_assert_int_eq(write(r.sshd_in, "in\n", 3), 3);
	read_exact(&r, r.sshd_out, buf, 4);
	ck_assert_mem_eq(buf, "out\n", 4);
	read_exact(&r, r.sshd_err, buf, 4);
	ck_assert_mem_eq(buf, "err\n", 4);
	read_exact(&r, r.cmd[0], buf, 3);
	ck_assert_mem_eq(buf, "in\n", 3);
	/* sshd's EOF on stdin reaches the command */
	close_fd(&r.sshd_in);
	pump(&r);
	ck_assert_int_eq(read(r.cmd[0], buf, sizeof(buf)), 0);
	ck_assert_int_eq(r.s->phase, SESSION_COMMAND); /* stdin does not hold the end */
	/* the command closes stdout: sshd sees EOF there, stderr stays */
	close_fd(&r.cmd[1]);
	pump(&r);
	ck_assert_int_eq(read(r.sshd_out, buf, sizeof(buf)), 0);
	ck_assert_int_eq(r.s->phase, SESSION_COMMAND);
	close_fd(&r.cmd[2]);
	RUN_UNTIL(&r, r.s->phase == SESSION_FINISHING);
	n = read(r.sshd_err, buf, sizeof(buf));
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(recorded(&r, 'o', rec, sizeof(rec)), 4);
	ck_assert_uint_eq(recorded(&r, 'e', rec, sizeof(rec)), 4);
	ck_assert_mem_eq(rec, "err\n", 4);
	ck_assert_uint_eq(recorded(&r, 'i', rec, sizeof(rec)), 3);
	ck_assert_ptr_nonnull(memsink_line(r.mp, NULL, "\"bytes_out\":8,\"bytes_in\":3"));
	ck_assert_ptr_nonnull(memsink_line(r.mp, NULL, "\"reason\":\"exit\""));
	prig_fini(&r);
}
END_TEST

/* sshd does not read the command's output: the relay holds at most its
 * buffer, and the command's writes block once the pipes are full too. */
START_TEST(test_backpressure_is_bounded)
{
	struct prig r;
	static uint8_t chunk[4096], got[4 << 20];
	size_t written = 0, pipes;
	int cap_cmd, cap_sshd;

	prig_init(&r, "yes", false);
	cap_cmd = fcntl(r.cmd[1], F_GETPIPE_SZ);
	cap_sshd = fcntl(r.sshd_out, F_GETPIPE_SZ);
	ck_assert_int_gt(cap_cmd, 0);
	fcntl(r.cmd[1], F_SETFL, O_NONBLOCK);
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 7);
	for (int idle = 0; idle < 50;) {
		ssize_t w = write(r.cmd[1], chunk, sizeof(chunk));

		if (w > 0) {
			written += (size_t)w;
			idle = 0;
		} else {
			idle++;
		}
		pump(&r);
		ck_assert_uint_le(written, sizeof(got));
	}
	pipes = (size_t)cap_cmd + (size_t)cap_sshd;
	ck_assert_uint_le(relaypipe_pending(&r.s->pipe, RELAYPIPE_OUT), RELAYPIPE_BUF);
	ck_assert_uint_le(written, pipes + RELAYPIPE_BUF);
	ck_assert_uint_ge(written, pipes); /* both pipes are full: the relay did take */
	/* sshd reads: everything arrives, in order, and is recorded once */
	close_fd(&r.cmd[1]);
	read_exact(&r, r.sshd_out, got, written);
	for (size_t i = 0; i < written; i++)
		REQUIRE(got[i] == chunk[i % sizeof(chunk)]);
	ck_assert_uint_eq(r.s->st.bytes_out, written);
	prig_fini(&r);
}
END_TEST

START_TEST(test_binary_lossless)
{
	struct prig r;
	static uint8_t data[70000], got[70000], rec[70000];

	randombytes_buf(data, sizeof(data));
	for (int i = 0; i < 256; i++)
		data[i] = (uint8_t)i;
	prig_init(&r, "cat", false);
	ck_assert_int_eq(write(r.sshd_in, data, 60000), 60000); /* within the pipe and the buffer */
	read_exact(&r, r.cmd[0], got, 60000);
	ck_assert_mem_eq(got, data, 60000);
	/* an incomplete UTF-8 sequence at the end is kept until the end */
	close_fd(&r.cmd[1]);
	close_fd(&r.cmd[2]);
	RUN_UNTIL(&r, r.s->phase == SESSION_FINISHING);
	ck_assert_uint_eq(recorded(&r, 'i', rec, sizeof(rec)), 60000);
	ck_assert_mem_eq(rec, data, 60000);
	prig_fini(&r);
}
END_TEST

START_TEST(test_transfer_metadata)
{
	struct prig r;
	static uint8_t data[50000], got[50000];
	unsigned char sum[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1], want[200];

	randombytes_buf(data, sizeof(data));
	prig_init(&r, "scp -t /tmp", true);
	ck_assert(r.s->pipe.metadata);
	ck_assert_int_eq(write(r.sshd_in, data, sizeof(data)), (ssize_t)sizeof(data));
	read_exact(&r, r.cmd[0], got, sizeof(got));
	ck_assert_int_eq(write(r.cmd[2], "scp: warning\n", 13), 13);
	ck_assert_int_eq(write(r.cmd[1], "\0", 1), 1);
	close_fd(&r.cmd[1]);
	close_fd(&r.cmd[2]);
	RUN_UNTIL(&r, r.s->phase == SESSION_FINISHING);
	ck_assert_ptr_null(memsink_line(r.mp, NULL, "\"ch\":\"i\""));
	ck_assert_ptr_null(memsink_line(r.mp, NULL, "\"ch\":\"o\""));
	ck_assert_ptr_nonnull(memsink_line(r.mp, NULL, "\"ch\":\"e\",\"d\":\"scp: warning\\n\""));
	crypto_hash_sha256(sum, data, sizeof(data));
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	snprintf(want, sizeof(want), "\"d\":\"transfer stdin: 50000 bytes, sha256 %s\"", hex);
	ck_assert_ptr_nonnull(memsink_line(r.mp, NULL, want));
	crypto_hash_sha256(sum, (const uint8_t *)"", 1);
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	snprintf(want, sizeof(want), "\"d\":\"transfer stdout: 1 bytes, sha256 %s\"", hex);
	ck_assert_ptr_nonnull(memsink_line(r.mp, NULL, want));
	prig_fini(&r);
}
END_TEST

/* sshd's reading side goes (the client vanished): the command gets EPIPE
 * as it would without the relay, and the session ends as a hangup. */
START_TEST(test_reader_gone)
{
	struct prig r;
	ssize_t w = 0;

	prig_init(&r, "yes", false);
	close_fd(&r.sshd_out);
	close_fd(&r.sshd_err);
	signal(SIGPIPE, SIG_IGN);
	fcntl(r.cmd[1], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 100 && w >= 0; i++) {
		w = write(r.cmd[1], "y\n", 2);
		pump(&r);
	}
	ck_assert_int_lt(w, 0);
	ck_assert_int_eq(errno, EPIPE);
	/* stderr's reader went too, with nothing written to it: the tick */
	for (int64_t end = mono_ms() + 3000; r.s->phase == SESSION_COMMAND && mono_ms() < end;) {
		(void)loop_run_once(&r.d->loop, 50);
		session_tick(r.d, mono_ms(), false);
	}
	ck_assert_int_eq(r.s->phase, SESSION_FINISHING);
	ck_assert_ptr_nonnull(memsink_line(r.mp, NULL, "\"reason\":\"hangup\""));
	prig_fini(&r);
}
END_TEST

static Suite *relaypipe_suite(void)
{
	Suite *s = suite_create("relaypipe");
	TCase *tc = tcase_create("relay");

	tcase_add_test(tc, test_both_ways_and_eof);
	tcase_add_test(tc, test_backpressure_is_bounded);
	tcase_add_test(tc, test_binary_lossless);
	tcase_add_test(tc, test_transfer_metadata);
	tcase_add_test(tc, test_reader_gone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(relaypipe_suite());
}
