/* Unit tests for common/proto: round trips with fds, every kind of hostile
 * message refused with the right errno and no fd left behind, connect and
 * call against a real listening socket served by a forked child. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "proto.h"
#include "protoclient.h"
#include "testutil.h"

static struct json_object *parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	ck_assert_ptr_nonnull(o);
	return o;
}

START_TEST(test_roundtrip)
{
	struct json_object *req = parse(
		"{\"op\":\"attach\",\"token\":\"abc\",\"n\":-7,\"b\":true,"
		"\"s\":\"a\\\"b\\\\c\\u00e9\",\"nul\":\"ro\\u0000ot\",\"d\":1.5}");
	struct json_object *got;
	int sv[2], p[2], fds[2], rfds[4];
	size_t n;
	int64_t i;
	bool b;

	testutil_seqpacket_pair(sv);
	ck_assert_int_eq(pipe(p), 0);
	fds[0] = p[0];
	fds[1] = p[1];
	ck_assert_int_eq(proto_send(sv[0], req, fds, 2), 0);
	ck_assert_int_eq(proto_recv(sv[1], &got, rfds, 4, &n, 0), 0);
	ck_assert_uint_eq(n, 2);
	for (size_t k = 0; k < n; k++) {
		ck_assert(fcntl(rfds[k], F_GETFD) & FD_CLOEXEC);
		close(rfds[k]);
	}
	ck_assert_str_eq(proto_str(got, "op"), "attach");
	ck_assert_str_eq(proto_str(got, "s"), "a\"b\\c\xc3\xa9");
	ck_assert_ptr_null(proto_str(got, "nul")); /* embedded NUL: not a string to trust */
	ck_assert_ptr_null(proto_str(got, "n"));
	ck_assert_ptr_null(proto_str(got, "missing"));
	ck_assert_int_eq(proto_int(got, "n", &i), 0);
	ck_assert_int_eq(i, -7);
	ck_assert_int_eq(proto_int(got, "d", &i), -EINVAL);
	ck_assert_int_eq(proto_int(got, "token", &i), -EINVAL);
	ck_assert_int_eq(proto_bool(got, "b", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(proto_bool(got, "n", &b), -EINVAL);
	json_object_put(got);
	json_object_put(req);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* A valid request of exactly len bytes: {"op":"x","p":"aaa..."}. */
static char *sized(size_t len)
{
	char *s = repeat('a', len);

	memcpy(s, "{\"op\":\"x\",\"p\":\"", 15);
	memcpy(s + len - 2, "\"}", 2);
	return s;
}

static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 6 + 32);
	size_t o = 0;

	o += (size_t)sprintf(s, "{\"op\":\"x\",\"a\":");
	for (int i = 0; i < depth; i++)
		o += (size_t)sprintf(s + o, "[");
	for (int i = 0; i < depth; i++)
		o += (size_t)sprintf(s + o, "]");
	sprintf(s + o, "}");
	return s;
}

enum gen { LIT, SIZED, NESTED };
static const struct {
	const char *what;
	enum gen gen;
	const char *lit;
	size_t len; /* LIT: 0 = strlen; SIZED: bytes; NESTED: depth */
	int err;
} msgs[] = {
	{ "object with op", LIT, "{\"op\":\"ping\"}", 0, 0 },
	{ "reply", LIT, "{\"ok\":false,\"error\":\"no\"}", 0, 0 },
	{ "surrounding whitespace", LIT, " {\"op\":\"ping\"}\n", 0, 0 },
	{ "exactly 4096 bytes", SIZED, NULL, 4096, 0 },
	{ "shallow nesting", NESTED, NULL, 10, 0 },
	{ "not JSON", LIT, "hello", 0, -EBADMSG },
	{ "array", LIT, "[{\"op\":\"ping\"}]", 0, -EBADMSG },
	{ "string", LIT, "\"ping\"", 0, -EBADMSG },
	{ "number", LIT, "12", 0, -EBADMSG },
	{ "null", LIT, "null", 0, -EBADMSG },
	{ "no op or ok", LIT, "{\"cmd\":\"ping\"}", 0, -EBADMSG },
	{ "op not a string", LIT, "{\"op\":1}", 0, -EBADMSG },
	{ "ok not a bool", LIT, "{\"ok\":\"yes\"}", 0, -EBADMSG },
	{ "trailing garbage", LIT, "{\"op\":\"ping\"}x", 0, -EBADMSG },
	{ "two objects", LIT, "{\"op\":\"ping\"}{\"op\":\"ping\"}", 0, -EBADMSG },
	{ "truncated", LIT, "{\"op\":\"ping\"", 0, -EBADMSG },
	{ "NUL after object", LIT, "{\"op\":\"ping\"}\0", 14, -EBADMSG },
	{ "NUL inside string", LIT, "{\"op\":\"pi\0ng\"}", 14, -EBADMSG },
	{ "single quotes", LIT, "{'op':'ping'}", 0, -EBADMSG },
	{ "trailing comma", LIT, "{\"op\":\"ping\",}", 0, -EBADMSG },
	{ "invalid UTF-8", LIT, "{\"op\":\"\xff\xfe\"}", 0, -EBADMSG },
	{ "deep nesting", NESTED, NULL, 40, -EBADMSG },
	{ "very deep nesting", NESTED, NULL, 600, -EBADMSG },
	{ "4097 bytes", SIZED, NULL, 4097, -EMSGSIZE },
	{ "65536 bytes", SIZED, NULL, 65536, -EMSGSIZE },
};

START_TEST(test_messages)
{
	struct json_object *got = (struct json_object *)1;
	int sv[2], p[2], rfds[4], before;
	char *owned = NULL;
	const char *body;
	size_t len, n = 99;
	int bufsz = 1 << 18;

	switch (msgs[_i].gen) {
	case LIT:
		body = msgs[_i].lit;
		len = msgs[_i].len ? msgs[_i].len : strlen(body);
		break;
	case SIZED:
		body = owned = sized(msgs[_i].len);
		len = msgs[_i].len;
		break;
	default:
		body = owned = nested((int)msgs[_i].len);
		len = strlen(body);
		break;
	}
	testutil_seqpacket_pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz)), 0);
	ck_assert_int_eq(pipe(p), 0);
	/* Every message carries an fd: a refusal must close it. */
	ck_assert_int_eq(fdpass_send(sv[0], body, len, p, 1), 0);
	before = testutil_count_fds();
	ck_assert_int_eq(proto_recv(sv[1], &got, rfds, 1, &n, 0), msgs[_i].err);
	if (msgs[_i].err) {
		ck_assert_ptr_null(got);
		ck_assert_uint_eq(n, 0);
		ck_assert_int_eq(testutil_count_fds(), before);
	} else {
		ck_assert(json_object_is_type(got, json_type_object));
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(testutil_count_fds(), before + 1);
		close(rfds[0]);
		json_object_put(got);
	}
	/* Nothing of it lingers: the next message reads cleanly. */
	ck_assert_int_eq(fdpass_send(sv[0], "{\"op\":\"next\"}", 13, NULL, 0), 0);
	ck_assert_int_eq(proto_recv(sv[1], &got, rfds, 1, &n, MSG_DONTWAIT), 0);
	ck_assert_str_eq(proto_str(got, "op"), "next");
	json_object_put(got);
	free(owned);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_send_limits)
{
	struct json_object *o = json_object_new_object(), *got;
	char *big = repeat('z', 5000);
	int sv[2], rfds[1];
	size_t n;

	testutil_seqpacket_pair(sv);
	json_object_object_add(o, "op", json_object_new_string(big));
	ck_assert_int_eq(proto_send(sv[0], o, NULL, 0), -EMSGSIZE);
	ck_assert_int_eq(proto_recv(sv[1], &got, rfds, 1, &n, MSG_DONTWAIT), -EAGAIN);
	ck_assert_ptr_null(got);
	close(sv[0]);
	ck_assert_int_eq(proto_recv(sv[1], &got, rfds, 1, &n, 0), -ECONNRESET);
	close(sv[1]);
	json_object_put(o);
	free(big);

	o = proto_reply_error("no \"such\" op");
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			 "{\"ok\":false,\"error\":\"no \\\"such\\\" op\"}");
	json_object_put(o);
	o = proto_reply_ok();
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "{\"ok\":true}");
	json_object_put(o);
}
END_TEST

static char sockdir[64];

static void make_path(char *path, size_t cap)
{
	strcpy(sockdir, "/tmp/test_proto.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sockdir));
	snprintf(path, cap, "%s/s.sock", sockdir);
}

static int listen_on(const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

static void cleanup_path(const char *path)
{
	unlink(path);
	rmdir(sockdir);
}

START_TEST(test_connect_errors)
{
	char path[128];
	int l, c1, c2, before = testutil_count_fds();

	make_path(path, sizeof(path));
	ck_assert_int_eq(proto_connect(path, 100), -ENOENT);
	ck_assert_int_eq(proto_connect("", 100), -EINVAL);
	ck_assert_int_eq(proto_connect("/tmp/"
				       "0123456789012345678901234567890123456789"
				       "0123456789012345678901234567890123456789"
				       "0123456789012345678901234567890123456789",
				       100),
			 -ENAMETOOLONG);
	/* A socket file nobody listens on. */
	l = listen_on(path, 0);
	close(l);
	ck_assert_int_eq(proto_connect(path, 100), -ECONNREFUSED);
	unlink(path);
	/* A listener that never accepts: the backlog fills, the next connect
	 * times out instead of hanging. */
	l = listen_on(path, 0);
	c1 = proto_connect(path, 1000);
	ck_assert_int_ge(c1, 0);
	ck_assert_int_eq(fcntl(c1, F_GETFL) & O_NONBLOCK, 0);
	ck_assert(fcntl(c1, F_GETFD) & FD_CLOEXEC);
	c2 = proto_connect(path, 50);
	if (c2 >= 0) /* some kernels queue one more */
		c2 = proto_connect(path, 50);
	ck_assert_int_eq(c2, -ETIMEDOUT);
	close(c1);
	close(l);
	cleanup_path(path);
	ck_assert_int_eq(testutil_count_fds(), before);
}
END_TEST

/* A forked server: answers each request per behaviour, then exits. */
enum server { ECHO, SILENT, NO_OK, WITH_FD, HANGUP };

static pid_t serve(const char *path, enum server how)
{
	int l = listen_on(path, 4);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct json_object *req, *rep;
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC), fds[4], p[2];
		size_t n;

		if (c < 0 || proto_recv(c, &req, fds, 4, &n, 0) < 0)
			_exit(1);
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		rep = proto_reply_ok();
		json_object_object_add(rep, "echo", json_object_new_string(proto_str(req, "op")));
		json_object_object_add(rep, "nfds", json_object_new_int((int)n));
		switch (how) {
		case ECHO:
			proto_send(c, rep, NULL, 0);
			break;
		case NO_OK:
			json_object_object_del(rep, "ok");
			json_object_object_add(rep, "op", json_object_new_string("x"));
			proto_send(c, rep, NULL, 0);
			break;
		case WITH_FD:
			if (pipe(p) == 0)
				proto_send(c, rep, p, 2);
			break;
		case SILENT: {
			char b;

			(void)!read(c, &b, 1); /* until the client gives up */
			break;
		}
		case HANGUP:
			break;
		}
		_exit(0);
	}
	close(l);
	return pid;
}

/* clang-format off */
static const struct {
	enum server how;
	int timeout;
	int err;
} calls[] = {
	{ ECHO, 5000, 0 },
	{ ECHO, -1, 0 },
	{ NO_OK, 5000, -EBADMSG },
	{ WITH_FD, 5000, -EBADMSG },
	{ SILENT, 50, -ETIMEDOUT },
	{ HANGUP, 5000, -ECONNRESET },
};
/* clang-format on */

START_TEST(test_call)
{
	struct json_object *req = parse("{\"op\":\"ping\"}");
	struct protoclient_reply rep;
	struct protoclient cl = { .timeout_ms = calls[_i].timeout };
	char path[128];
	int p[2], status, before;
	int64_t nfds;
	pid_t pid;

	make_path(path, sizeof(path));
	pid = serve(path, calls[_i].how);
	ck_assert_int_eq(pipe(p), 0);
	before = testutil_count_fds();
	cl.socket = path;
	ck_assert_int_eq(protoclient_call(&cl, req, p, 2, &rep), calls[_i].err);
	if (calls[_i].err == 0) {
		ck_assert_str_eq(proto_str(rep.msg, "echo"), "ping");
		ck_assert_int_eq(proto_int(rep.msg, "nfds", &nfds), 0);
		ck_assert_int_eq(nfds, 2);
	} else {
		ck_assert_ptr_null(rep.msg);
	}
	protoclient_reply_free(&rep);
	ck_assert_int_eq(testutil_count_fds(), before);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p[0]);
	close(p[1]);
	json_object_put(req);
	cleanup_path(path);
}
END_TEST

START_TEST(test_parse_direct)
{
	struct json_object *o;

	ck_assert_int_eq(proto_parse("{\"op\":\"a\"}", 10, &o), 0);
	json_object_put(o);
	ck_assert_int_eq(proto_parse("{\"op\":\"a\"}", 9, &o), -EBADMSG);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(proto_parse("", 0, &o), -EBADMSG);
	{
		char *big = sized(PROTO_MSG_MAX + 1);

		ck_assert_int_eq(proto_parse(big, PROTO_MSG_MAX + 1, &o), -EMSGSIZE);
		ck_assert_int_eq(proto_parse(big, PROTO_MSG_MAX, &o), -EBADMSG); /* cut short */
		free(big);
	}
}
END_TEST

/* The ranged and unsigned getters the daemon judges requests and state with. */
/* clang-format off */
static const struct {
	const char *json;
	int64_t min, max;
	int want_range; /* proto_int_range result */
	int64_t value;
	int want_u64;   /* proto_u64 result */
	uint64_t u;
} ints[] = {
	{ "{\"n\":5}", 0, 10, 0, 5, 0, 5 },
	{ "{\"n\":11}", 0, 10, -EINVAL, 0, 0, 11 },
	{ "{\"n\":-1}", 0, 10, -EINVAL, 0, -EINVAL, 0 },
	{ "{\"n\":-1}", -1, 10, 0, -1, -EINVAL, 0 },
	{ "{\"n\":9223372036854775807}", 0, INT64_MAX, 0, INT64_MAX, 0, INT64_MAX },
	{ "{\"n\":18446744073709551615}", 0, INT64_MAX, -EINVAL, 0, 0, UINT64_MAX },
	{ "{\"n\":\"5\"}", 0, 10, -EINVAL, 0, -EINVAL, 0 },
	{ "{\"n\":5.0}", 0, 10, -EINVAL, 0, -EINVAL, 0 },
	{ "{\"m\":5}", 0, 10, -EINVAL, 0, -EINVAL, 0 },
};
/* clang-format on */

START_TEST(test_int_getters)
{
	struct json_object *o = json_tokener_parse(ints[_i].json);
	int64_t x = 0;
	uint64_t u = 0;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(proto_int_range(o, "n", ints[_i].min, ints[_i].max, &x), ints[_i].want_range);
	if (ints[_i].want_range == 0)
		ck_assert_int_eq(x, ints[_i].value);
	ck_assert_int_eq(proto_u64(o, "n", &u), ints[_i].want_u64);
	if (ints[_i].want_u64 == 0)
		ck_assert_uint_eq(u, ints[_i].u);
	json_object_put(o);
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_loop_test(tc, test_messages, 0, sizeof(msgs) / sizeof(msgs[0]));
	tcase_add_test(tc, test_send_limits);
	tcase_add_test(tc, test_connect_errors);
	tcase_add_loop_test(tc, test_call, 0, sizeof(calls) / sizeof(calls[0]));
	tcase_add_test(tc, test_parse_direct);
	tcase_add_loop_test(tc, test_int_getters, 0, sizeof(ints) / sizeof(ints[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(proto_suite());
}
