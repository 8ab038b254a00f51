/* Unit tests for common/protoclient, the one client of sessrecd's protocol:
 * the request builders' exact bytes, and protoclient_call against a real
 * listening SOCK_SEQPACKET socket in a temporary directory served by a
 * forked child: the bytes that arrive, fds both ways, the deadline, hostile
 * replies refused, the effective uid at connect, and no fd left open on any
 * path. */
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
#include "monoclock.h"
#include "proto.h"
#include "protoclient.h"
#include "testutil.h"

#define PLAIN (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Builders --------------------------------------------------------------- */

static struct json_object *open_full(void)
{
	return protoclient_req_open(&(struct protoclient_open){ .user = "alice",
								.uid = 1000,
								.service = "sshd",
								.proto = "ssh",
								.rhost = "192.0.2.7",
								.rport = 50022,
								.tty = "ssh",
								.pid = 42,
								.sessionid = 7,
								.auth = "publickey ssh-ed25519 AAAA",
								.input = false,
								.dry_run = true });
}

static struct json_object *open_minimal(void)
{
	/* What sessrecctl record sends: no address, no audit session. */
	return protoclient_req_open(&(struct protoclient_open){ .user = "root",
								.service = "sessrecctl",
								.proto = "local",
								.pid = 42,
								.sessionid = -1,
								.auth = "",
								.input = true });
}

static struct json_object *open_closed(void)
{
	/* fail=closed travels; fail=open is the absence of the field. */
	return protoclient_req_open(&(struct protoclient_open){
		.user = "bob", .uid = 1001, .pid = 43, .sessionid = -1, .input = true, .fail_closed = true });
}

static struct json_object *attach_tty(void)
{
	return protoclient_req_attach("TOKEN", "SID", "xterm-256color", "/bin/bash");
}

static struct json_object *attach_nosid(void)
{
	return protoclient_req_attach("TOKEN", NULL, NULL, "/bin/sh");
}

static struct json_object *command(void)
{
	return protoclient_req_command("TOKEN", "SID", "scp -t /tmp/\"x\"");
}

static struct json_object *close_kind(void)
{
	return protoclient_req_close("SID", "not_recorded");
}

static struct json_object *close_plain(void)
{
	return protoclient_req_close("SID", NULL);
}

static struct json_object *list_first(void)
{
	return protoclient_req_list(0);
}

static struct json_object *list_page(void)
{
	return protoclient_req_list(1234);
}

/* clang-format off */
static const struct {
	struct json_object *(*build)(void);
	const char *want;
} reqs[] = {
	{ open_full, "{\"op\":\"open\",\"user\":\"alice\",\"uid\":1000,\"service\":\"sshd\",\"proto\":\"ssh\","
		     "\"rhost\":\"192.0.2.7\",\"rport\":50022,\"tty\":\"ssh\",\"pid\":42,\"sessionid\":7,"
		     "\"auth\":\"publickey ssh-ed25519 AAAA\",\"input\":false,\"dry_run\":true}" },
	{ open_minimal, "{\"op\":\"open\",\"user\":\"root\",\"uid\":0,\"service\":\"sessrecctl\","
			"\"proto\":\"local\",\"pid\":42,\"input\":true,\"dry_run\":false}" },
	{ attach_tty, "{\"op\":\"attach\",\"token\":\"TOKEN\",\"sid\":\"SID\",\"term\":\"xterm-256color\","
		      "\"shell\":\"/bin/bash\"}" },
	{ attach_nosid, "{\"op\":\"attach\",\"token\":\"TOKEN\",\"shell\":\"/bin/sh\"}" },
	{ command, "{\"op\":\"attach\",\"token\":\"TOKEN\",\"sid\":\"SID\",\"cmd\":\"scp -t /tmp/\\\"x\\\"\"}" },
	{ close_kind, "{\"op\":\"close\",\"sid\":\"SID\",\"kind\":\"not_recorded\"}" },
	{ close_plain, "{\"op\":\"close\",\"sid\":\"SID\"}" },
	{ list_first, "{\"op\":\"list\"}" },
	{ list_page, "{\"op\":\"list\",\"offset\":1234}" },
	{ open_closed, "{\"op\":\"open\",\"user\":\"bob\",\"uid\":1001,\"pid\":43,\"input\":true,"
		       "\"dry_run\":false,\"fail\":\"closed\"}" },
};
/* clang-format on */

START_TEST(test_builders)
{
	struct json_object *req = reqs[_i].build();

	ck_assert_ptr_nonnull(req);
	ck_assert_str_eq(json_object_to_json_string_ext(req, PLAIN), reqs[_i].want);
	json_object_put(req);
}
END_TEST

/* A served socket --------------------------------------------------------- */

static char sockdir[64], sockpath[128];

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static void setup(void)
{
	strcpy(sockdir, "/tmp/test_protoclient.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sockdir));
	snprintf(sockpath, sizeof(sockpath), "%s/s.sock", sockdir);
}

static void teardown(void)
{
	unlink(sockpath);
	rmdir(sockdir);
}

/* What the forked server does with the one request it reads. */
enum server {
	ECHO,       /* ok, with the request's bytes ("got"), its fd count and the peer's uid */
	WITH_FDS,   /* ok, with both ends of a pipe */
	THREE_FDS,  /* ok, with three fds */
	REFUSE,     /* ok:false, an error line */
	REFUSE_FDS, /* ok:false, with an fd */
	SILENT,     /* nothing, until the client gives up */
	HANGUP,     /* closes without a word */
	GARBAGE,    /* not JSON */
	OVERSIZED,  /* one byte over PROTO_MSG_MAX */
	NO_OK,      /* an object without an "ok" bool */
	DRAINED,    /* ok with three fds, then "drained" on the same connection */
	GONE,       /* ok with three fds, then the connection closes */
};

static void send_raw(int c, const char *s, size_t n)
{
	(void)!send(c, s, n, MSG_NOSIGNAL);
}

static void serve_one(int l, enum server how)
{
	char buf[PROTO_MSG_MAX + 1], *big;
	struct json_object *rep = proto_reply_ok();
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC), fds[FDPASS_MAX], p[2];
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	size_t nfds = 0;
	ssize_t n;

	if (c < 0 || getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		_exit(2);
	n = fdpass_recv(c, buf, sizeof(buf) - 1, fds, FDPASS_MAX, &nfds, 0);
	if (n <= 0)
		_exit(3);
	buf[n] = '\0';
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	json_object_object_add(rep, "got", json_object_new_string(buf));
	json_object_object_add(rep, "nfds", json_object_new_int((int)nfds));
	json_object_object_add(rep, "uid", json_object_new_int64(cred.uid));
	if (pipe(p) < 0)
		_exit(4);
	switch (how) {
	case ECHO:
		proto_send(c, rep, NULL, 0);
		break;
	case WITH_FDS:
		proto_send(c, rep, p, 2);
		break;
	case THREE_FDS:
		proto_send(c, rep, (int[]){ p[0], p[1], p[0] }, 3);
		break;
	case REFUSE:
		json_object_put(rep);
		rep = proto_reply_error("no such session");
		proto_send(c, rep, NULL, 0);
		break;
	case REFUSE_FDS:
		json_object_put(rep);
		rep = proto_reply_error("no");
		proto_send(c, rep, p, 1);
		break;
	case SILENT:
		(void)!read(c, buf, 1); /* until the client gives up */
		break;
	case HANGUP:
		break;
	case GARBAGE:
		send_raw(c, "{\"ok\":tru", 9);
		break;
	case OVERSIZED:
		big = malloc(PROTO_MSG_MAX + 1);
		memset(big, ' ', PROTO_MSG_MAX + 1);
		memcpy(big, "{\"ok\":true}", 11);
		send_raw(c, big, PROTO_MSG_MAX + 1);
		free(big);
		break;
	case NO_OK:
		send_raw(c, "{\"op\":\"ok\"}", 11);
		break;
	case DRAINED:
	case GONE:
		proto_send(c, rep, (int[]){ p[0], p[1], p[0] }, 3);
		if (how == DRAINED)
			send_raw(c, "{\"op\":\"drained\",\"sid\":\"S\",\"status\":\"recorded\"}", 46);
		break;
	}
	json_object_put(rep);
	_exit(0);
}

/* Listens on sockpath and forks the server for one connection. */
static pid_t serve(enum server how)
{
	int l = listen_on(sockpath);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		serve_one(l, how);
	close(l);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server status %d", status);
}

/* The call ---------------------------------------------------------------- */

START_TEST(test_call_bytes_and_fds_out)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 5000 };
	struct json_object *req = attach_tty();
	struct protoclient_reply rep;
	int p[2], before;
	int64_t v;
	pid_t pid = serve(ECHO);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	before = testutil_count_fds();
	ck_assert_int_eq(protoclient_call(&c, req, p, 2, &rep), 0);
	ck_assert(rep.reached);
	ck_assert_str_eq(proto_str(rep.msg, "got"), reqs[2].want);
	ck_assert_int_eq(proto_int(rep.msg, "nfds", &v), 0);
	ck_assert_int_eq(v, 2);
	ck_assert_int_eq(proto_int(rep.msg, "uid", &v), 0);
	ck_assert_int_eq(v, geteuid());
	ck_assert_uint_eq(rep.nfds, 0);
	ck_assert_ptr_null(protoclient_error(&rep));
	protoclient_reply_free(&rep);
	protoclient_reply_free(&rep); /* safe twice */
	ck_assert_int_eq(testutil_count_fds(), before);
	/* The request is the caller's still. */
	ck_assert_str_eq(json_object_to_json_string_ext(req, PLAIN), reqs[2].want);
	json_object_put(req);
	close(p[0]);
	close(p[1]);
	reap(pid);
}
END_TEST

START_TEST(test_call_fds_back)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 5000, .reply_fds = 2 };
	struct json_object *req = close_plain();
	struct protoclient_reply rep;
	int before = testutil_count_fds();
	char b = 0;
	pid_t pid = serve(WITH_FDS);

	ck_assert_int_eq(protoclient_call(&c, req, NULL, 0, &rep), 0);
	ck_assert_uint_eq(rep.nfds, 2);
	ck_assert(testutil_cloexec(rep.fds[0]) && testutil_cloexec(rep.fds[1]));
	/* The pipe works across: written on one, read on the other. */
	ck_assert_int_eq(write(rep.fds[1], "x", 1), 1);
	ck_assert_int_eq(read(rep.fds[0], &b, 1), 1);
	ck_assert_int_eq(b, 'x');
	ck_assert_int_eq(testutil_count_fds(), before + 2);
	protoclient_reply_free(&rep);
	ck_assert_uint_eq(rep.nfds, 0);
	ck_assert_int_eq(testutil_count_fds(), before);
	json_object_put(req);
	reap(pid);
}
END_TEST

/* A command's attach: the connection stays for the daemon's "drained",
 * or says the daemon went (EOF). */
START_TEST(test_call_keep_drained)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 5000, .reply_fds = 3 };
	struct json_object *req = protoclient_req_command("TOKEN", "SID", "scp -t /tmp");
	struct protoclient_reply rep;
	int before = testutil_count_fds(), sock = -1;
	pid_t pid = serve(_i ? GONE : DRAINED);

	ck_assert_int_eq(protoclient_call_keep(&c, req, (int[]){ 0, 1, 2 }, 3, &rep, &sock), 0);
	ck_assert_int_ge(sock, 0);
	ck_assert(testutil_cloexec(sock));
	ck_assert_uint_eq(rep.nfds, 3);
	protoclient_reply_free(&rep);
	ck_assert_int_eq(protoclient_wait_drained(sock), _i ? -ECONNRESET : 0);
	close(sock);
	ck_assert_int_eq(testutil_count_fds(), before);
	json_object_put(req);
	reap(pid);
}
END_TEST

START_TEST(test_call_refused)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 5000, .reply_fds = 2 };
	struct json_object *req = close_plain();
	struct protoclient_reply rep;
	int before = testutil_count_fds();
	pid_t pid = serve(_i ? REFUSE_FDS : REFUSE);

	ck_assert_int_eq(protoclient_call(&c, req, NULL, 0, &rep), -EREMOTEIO);
	ck_assert_ptr_nonnull(rep.msg);
	ck_assert_str_eq(protoclient_error(&rep), _i ? "no" : "no such session");
	ck_assert_uint_eq(rep.nfds, 0); /* a refusal keeps no fd */
	protoclient_reply_free(&rep);
	ck_assert_int_eq(testutil_count_fds(), before);
	json_object_put(req);
	reap(pid);
}
END_TEST

/* Every failure after connect: the right errno, nothing left behind. */
/* clang-format off */
static const struct {
	enum server how;
	size_t reply_fds;
	int err;
} bad[] = {
	{ HANGUP, 0, -ECONNRESET },
	{ GARBAGE, 0, -EBADMSG },
	{ OVERSIZED, 0, -EMSGSIZE },
	{ NO_OK, 0, -EBADMSG },
	{ WITH_FDS, 0, -EBADMSG },  /* fds the client did not ask for */
	{ THREE_FDS, 2, -EBADMSG }, /* more than it allows */
};
/* clang-format on */

START_TEST(test_call_bad_reply)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 5000, .reply_fds = bad[_i].reply_fds };
	struct json_object *req = close_plain();
	struct protoclient_reply rep;
	int p[2], before;
	pid_t pid = serve(bad[_i].how);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	before = testutil_count_fds();
	ck_assert_int_eq(protoclient_call(&c, req, p, 2, &rep), bad[_i].err);
	ck_assert(rep.reached);
	ck_assert_ptr_null(rep.msg);
	ck_assert_uint_eq(rep.nfds, 0);
	protoclient_reply_free(&rep);
	ck_assert_int_eq(testutil_count_fds(), before);
	json_object_put(req);
	close(p[0]);
	close(p[1]);
	reap(pid);
}
END_TEST

START_TEST(test_call_deadline)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 200 };
	struct json_object *req = close_plain();
	struct protoclient_reply rep;
	int before = testutil_count_fds();
	pid_t pid = serve(SILENT);
	int64_t t0 = mono_ms(), took;

	ck_assert_int_eq(protoclient_call(&c, req, NULL, 0, &rep), -ETIMEDOUT);
	took = mono_ms() - t0;
	ck_assert_msg(took >= 190 && took < 2000, "gave up after %lld ms", (long long)took);
	ck_assert(rep.reached);
	protoclient_reply_free(&rep);
	ck_assert_int_eq(testutil_count_fds(), before);
	json_object_put(req);
	reap(pid);
}
END_TEST

START_TEST(test_call_unreachable)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 200 };
	struct json_object *req = close_plain();
	struct protoclient_reply rep;
	int before = testutil_count_fds(), l;

	ck_assert_int_eq(protoclient_call(&c, req, NULL, 0, &rep), -ENOENT);
	ck_assert(!rep.reached);
	ck_assert_ptr_null(rep.msg);
	/* A socket file nobody listens on. */
	l = listen_on(sockpath);
	close(l);
	ck_assert_int_eq(protoclient_call(&c, req, NULL, 0, &rep), -ECONNREFUSED);
	ck_assert(!rep.reached);
	/* A builder that ran out of memory: nothing is attempted. */
	ck_assert_int_eq(protoclient_call(&c, NULL, NULL, 0, &rep), -ENOMEM);
	ck_assert(!rep.reached);
	protoclient_reply_free(&rep);
	ck_assert_int_eq(testutil_count_fds(), before);
	json_object_put(req);
}
END_TEST

/* pam_sessrec's attach in mode=tty: root connects with the user's uid, which
 * is what the daemon reads (SO_PEERCRED), and is root again afterwards. */
START_TEST(test_call_as_user)
{
	struct protoclient c = { .socket = sockpath, .timeout_ms = 5000, .as_user = true, .uid = 65534 };
	struct json_object *req = attach_tty();
	struct protoclient_reply rep;
	int64_t v;
	pid_t pid;

	if (geteuid() != 0)
		return; /* needs root to change uid */
	ck_assert_int_eq(chmod(sockdir, 0755), 0);
	pid = serve(ECHO);
	ck_assert_int_eq(chmod(sockpath, 0777), 0);
	ck_assert_int_eq(protoclient_call(&c, req, NULL, 0, &rep), 0);
	ck_assert_int_eq(proto_int(rep.msg, "uid", &v), 0);
	ck_assert_int_eq(v, 65534);
	ck_assert_int_eq(geteuid(), 0);
	protoclient_reply_free(&rep);
	json_object_put(req);
	reap(pid);
}
END_TEST

START_TEST(test_sessionid)
{
	char buf[32];
	long long id = protoclient_sessionid();
	FILE *f = fopen("/proc/self/sessionid", "r");

	if (!f) {
		ck_assert_int_eq(id, -1);
		return;
	}
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	if (strtoll(buf, NULL, 10) == 4294967295LL)
		ck_assert_int_eq(id, -1); /* unset */
	else
		ck_assert_int_eq(id, strtoll(buf, NULL, 10));
}
END_TEST

static Suite *protoclient_suite(void)
{
	Suite *s = suite_create("protoclient");
	TCase *tc = tcase_create("builders"), *call = tcase_create("call");

	tcase_add_loop_test(tc, test_builders, 0, sizeof(reqs) / sizeof(reqs[0]));
	tcase_add_test(tc, test_sessionid);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(call, setup, teardown);
	tcase_add_test(call, test_call_bytes_and_fds_out);
	tcase_add_test(call, test_call_fds_back);
	tcase_add_loop_test(call, test_call_keep_drained, 0, 2);
	tcase_add_loop_test(call, test_call_refused, 0, 2);
	tcase_add_loop_test(call, test_call_bad_reply, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(call, test_call_deadline);
	tcase_add_test(call, test_call_unreachable);
	tcase_add_test(call, test_call_as_user);
	suite_add_tcase(s, call);
	return s;
}

int main(void)
{
	return testutil_run(protoclient_suite());
}
