/* Unit tests for what pam_sessrec.so says to sessrecd and leaves behind:
 * the open and close requests, the environment for sessrec-shell, the
 * failure policy, and its hygiene (no fd, signal or thread left). The
 * daemon's side is a forked peer speaking the real protocol (common/proto)
 * on a temporary socket; sessrecd itself is in the integration tests. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "proto.h"
#include "test_pam_lib.h"

START_TEST(test_open_close_requests)
{
	const char *replies[] = { OPEN_OK, CLOSE_OK };
	struct json_object *req[4];
	struct pamtest t;
	pam_handle_t *pamh;
	int64_t v;

	pamtest_peer(&t, replies, 2);
	pamh = pamtest_start(&t, "sshd", "root", "fail=open timeout_ms=3000 input=no");
	/* sshd with UseDNS: a name in PAM_RHOST, the address in SSH_CONNECTION. */
	pam.set_item(pamh, PAM_RHOST, "client.example.org");
	pam.set_item(pamh, PAM_TTY, "ssh");
	pam.putenv(pamh, "SSH_AUTH_INFO_0=publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz\n");
	pam.putenv(pamh, "SSH_CONNECTION=192.0.2.7 50022 127.0.0.1 22");
	ck_assert_int_eq(pam.open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_str_eq(t.said.text, "");

	ck_assert_int_eq(peer_requests(&t.p, req, 4), 1);
	ck_assert_str_eq(jstr(req[0], "op"), "open");
	ck_assert_str_eq(jstr(req[0], "user"), "root");
	ck_assert_int_eq(proto_int(req[0], "uid", &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_str_eq(jstr(req[0], "service"), "sshd");
	ck_assert_str_eq(jstr(req[0], "proto"), "ssh");
	ck_assert_str_eq(jstr(req[0], "rhost"), "192.0.2.7");
	ck_assert_int_eq(proto_int(req[0], "rport", &v), 0);
	ck_assert_int_eq(v, 50022);
	ck_assert_str_eq(jstr(req[0], "tty"), "ssh");
	ck_assert_int_eq(proto_int(req[0], "pid", &v), 0);
	ck_assert_int_eq(v, getpid());
	ck_assert_str_eq(jstr(req[0], "auth"), "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFz");
	ck_assert_str_eq(jstr(req[0], "input"), "false");
	ck_assert_str_eq(jstr(req[0], "dry_run"), "false");
	ck_assert_int_eq(proto_int(req[0], "nfds", &v), 0);
	ck_assert_int_eq(v, 0);

	/* What sessrec-shell reads. */
	ck_assert_str_eq(pam.getenv(pamh, "SESSREC_SID"), SID);
	ck_assert_str_eq(pam.getenv(pamh, "SESSREC_TOKEN"), TOKEN);
	ck_assert_str_eq(pam.getenv(pamh, "SESSREC_FAIL"), "open");
	ck_assert_str_eq(pam.getenv(pamh, "SESSREC_SOCKET"), t.p.path);
	ck_assert_str_eq(pam.getenv(pamh, "SESSREC_TIMEOUT_MS"), "3000");
	ck_assert_ptr_null(pam.getenv(pamh, "SESSREC_QUIET"));

	ck_assert_int_eq(pam.close_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(peer_requests(&t.p, req + 1, 3), 1);
	ck_assert_str_eq(jstr(req[1], "op"), "close");
	ck_assert_str_eq(jstr(req[1], "sid"), SID);
	ck_assert(!jhas(req[1], "kind")); /* the daemon knows better what happened */
	/* One close per open. */
	ck_assert_int_eq(pam.close_session(pamh, 0), PAM_PERM_DENIED);
	json_object_put(req[0]);
	json_object_put(req[1]);
	pamtest_end(&t);
}
END_TEST

START_TEST(test_env_flags)
{
	const char *replies[] = { OPEN_OK };
	struct json_object *req[2];
	struct pamtest t;
	pam_handle_t *pamh;

	pamtest_peer(&t, replies, 1);
	/* daemon's shell is nologin: the ForceCommand deployment is declared. */
	pamh = pamtest_start(&t, "sshd", "daemon", "fail=closed quiet dry_run deploy=forcecommand");
	ck_assert_int_eq(pam.open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(peer_requests(&t.p, req, 2), 1);
	ck_assert_str_eq(jstr(req[0], "user"), "daemon");
	ck_assert_str_eq(jstr(req[0], "dry_run"), "true");
	ck_assert_str_eq(jstr(req[0], "fail"), "closed");
	ck_assert_str_eq(jstr(req[0], "input"), "true");
	/* No remote host, no SSH_CONNECTION, no auth info: left out. */
	ck_assert(!jhas(req[0], "rhost") && !jhas(req[0], "rport") && !jhas(req[0], "auth"));
	ck_assert_str_eq(pam.getenv(pamh, "SESSREC_FAIL"), "closed");
	ck_assert_str_eq(pam.getenv(pamh, "SESSREC_QUIET"), "1");
	ck_assert_ptr_null(pam.getenv(pamh, "SESSREC_TIMEOUT_MS"));
	json_object_put(req[0]);
	pamtest_end(&t);
}
END_TEST

/* A close from a process that did not open (a forked child ending its
 * copy of the handle) says nothing to the daemon. */
START_TEST(test_close_other_pid)
{
	const char *replies[] = { OPEN_OK, CLOSE_OK };
	struct json_object *req[2];
	struct pamtest t;
	pam_handle_t *pamh;
	pid_t child;
	int st;

	pamtest_peer(&t, replies, 2);
	pamh = pamtest_start(&t, "sshd", "root", "");
	ck_assert_int_eq(pam.open_session(pamh, 0), PAM_SUCCESS);
	child = fork();
	if (child == 0)
		_exit(pam.close_session(pamh, 0) == PAM_PERM_DENIED ? 0 : 1);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(peer_requests(&t.p, req, 2), 1);
	json_object_put(req[0]);
	ck_assert_int_eq(pam.close_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(peer_requests(&t.p, req, 2), 1);
	ck_assert_str_eq(jstr(req[0], "op"), "close");
	json_object_put(req[0]);
	pamtest_end(&t);
}
END_TEST

/* The daemon says no, says nonsense, or says nothing in time; the module
 * emits session_skipped (reason) unless the daemon did (NULL). */
/* clang-format off */
static const struct refusal {
	const char *reply, *args;
	int expect;
	const char *reason;
} refusals[] = {
	{ "{\"ok\":false,\"error\":\"low disk\",\"skipped\":\"disk_pressure\"}", "fail=open", PAM_SUCCESS, NULL },
	{ "{\"ok\":false,\"error\":\"low disk\",\"skipped\":\"disk_pressure\"}", "fail=closed", PAM_SESSION_ERR,
	  NULL },
	{ "{\"ok\":false,\"error\":\"full\",\"skipped\":\"session_limit\"}", "fail=open", PAM_SUCCESS, NULL },
	{ "{\"ok\":false,\"error\":\"too many sessions\"}", "fail=open", PAM_SUCCESS, "daemon_refused" },
	{ "{\"ok\":false,\"error\":\"too many sessions\"}", "fail=closed", PAM_SESSION_ERR, "daemon_refused" },
	{ "{\"ok\":true,\"sid\":\"not-a-uuid\",\"token\":\"" TOKEN "\"}", "fail=closed", PAM_SESSION_ERR,
	  "daemon_refused" },
	{ "{\"ok\":true,\"sid\":\"" SID "\",\"token\":\"a b\"}", "fail=closed", PAM_SESSION_ERR, "daemon_refused" },
	{ "{\"ok\":true,\"sid\":\"" SID "\"}", "fail=open", PAM_SUCCESS, "daemon_refused" },
	{ "not json", "fail=closed", PAM_SESSION_ERR, "daemon_unreachable" },
	{ NO_REPLY, "fail=open timeout_ms=100", PAM_SUCCESS, "daemon_unreachable" },
	{ NO_REPLY, "fail=closed timeout_ms=100", PAM_SESSION_ERR, "daemon_unreachable" },
};
/* clang-format on */

/* A syslog socket in the peer's directory and a daemon configuration
 * sending events there, for the module's config= argument. */
static int sink_open(const struct peer *p, char *conf, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	FILE *f;
	int fd;

	ck_assert_int_lt(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/devlog", p->dir), (int)sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_lt(snprintf(conf, cap, "%s/d.conf", p->dir), (int)cap);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Syslog]\nTargets=devlog\nDevLog=%s\nAppName=sessrec\n", sa.sun_path);
	ck_assert_int_eq(fclose(f), 0);
	return fd;
}

/* An sshd login whose passwd shell is not sessrec-shell (root's is bash):
 * fail=closed refuses it with one line and drops the registration;
 * fail=open lets it in; both send deployment_error. */
START_TEST(test_deployment)
{
	const char *replies[] = { OPEN_OK, CLOSE_OK };
	struct json_object *req[3];
	struct pamtest t;
	pam_handle_t *pamh;
	char conf[128], args[256], line[4096];
	bool closed = _i == 0;
	ssize_t n;
	int sink;

	pamtest_peer(&t, replies, closed ? 2 : 1);
	sink = sink_open(&t.p, conf, sizeof(conf));
	snprintf(args, sizeof(args), "config=%s fail=%s", conf, closed ? "closed" : "open");
	pamh = pamtest_start(&t, "sshd", "root", args);
	ck_assert_int_eq(pam.open_session(pamh, 0), closed ? PAM_SESSION_ERR : PAM_SUCCESS);
	ck_assert_str_eq(t.said.text,
			 closed ? "Session recording is not set up for this account; login refused.\n" : "");
	ck_assert_int_eq(peer_requests(&t.p, req, 3), closed ? 2 : 1);
	ck_assert_str_eq(jstr(req[0], "op"), "open");
	if (closed) {
		ck_assert_str_eq(jstr(req[1], "op"), "close");
		ck_assert_str_eq(jstr(req[1], "kind"), "not_recorded");
		ck_assert_ptr_null(pam.getenv(pamh, "SESSREC_TOKEN"));
		json_object_put(req[1]);
	} else {
		ck_assert_ptr_nonnull(pam.getenv(pamh, "SESSREC_TOKEN"));
		ck_assert(!jhas(req[0], "fail"));
	}
	json_object_put(req[0]);
	n = recv(sink, line, sizeof(line) - 1, 0);
	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	ck_assert_msg(strstr(line, " deployment_error [relay@55555 ") && strstr(line, "reason=\"shell_not_shim\"") &&
			      strstr(line, "error=\"/bin/bash\"") && strstr(line, "user=\"root\""),
		      "%s", line);
	close(sink);
	pamtest_end(&t);
}
END_TEST

START_TEST(test_refusal)
{
	const struct refusal *r = &refusals[_i];
	const char *replies[] = { r->reply };
	struct json_object *req[2];
	struct pamtest t;
	pam_handle_t *pamh;
	char conf[128], args[256], line[4096], want[64];
	ssize_t n;
	int sink;

	pamtest_peer(&t, replies, 1);
	sink = sink_open(&t.p, conf, sizeof(conf));
	snprintf(args, sizeof(args), "config=%s %s", conf, r->args);
	pamh = pamtest_start(&t, "sshd", "root", args);
	ck_assert_int_eq(pam.open_session(pamh, 0), r->expect);
	ck_assert_str_eq(t.said.text, r->expect == PAM_SESSION_ERR ? REFUSED : "");
	ck_assert_ptr_null(pam.getenv(pamh, "SESSREC_TOKEN"));
	ck_assert_ptr_null(pam.getenv(pamh, "SESSREC_SID"));
	ck_assert_int_eq(peer_requests(&t.p, req, 2), 1);
	json_object_put(req[0]);
	n = recv(sink, line, sizeof(line) - 1, 0);
	if (r->reason) {
		ck_assert_int_gt(n, 0);
		line[n] = '\0';
		snprintf(want, sizeof(want), "reason=\"%s\"", r->reason);
		ck_assert_msg(strstr(line, " sessrec ") && strstr(line, " session_skipped [relay@55555 ") &&
				      strstr(line, want) && strstr(line, "user=\"root\""),
			      "%s", line);
	} else {
		ck_assert_int_lt(n, 0); /* the daemon announced it */
	}
	close(sink);
	pamtest_end(&t);
}
END_TEST

/* Nothing the module does outlives the call: fds, signal dispositions, threads. */
struct snapshot {
	char fds[1024];
	struct sigaction act[NSIG];
	char threads[32];
};

static void snap(struct snapshot *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char line[128];
	FILE *f;

	ck_assert_ptr_nonnull(d);
	s->fds[0] = '\0';
	/* Listed in readdir order, which is the fd order in procfs. */
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		strncat(s->fds, e->d_name, sizeof(s->fds) - strlen(s->fds) - 2);
		strcat(s->fds, " ");
	}
	closedir(d);
	memset(s->act, 0, sizeof(s->act));
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, NULL, &s->act[sig]);
	f = fopen("/proc/self/status", "r");
	s->threads[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Threads:", 8) == 0)
			snprintf(s->threads, sizeof(s->threads), "%.20s", line);
	if (f)
		fclose(f);
}

static void same(const struct snapshot *a, const struct snapshot *b)
{
	ck_assert_str_eq(a->fds, b->fds);
	ck_assert_str_eq(a->threads, b->threads);
	for (int sig = 1; sig < NSIG; sig++) {
		ck_assert_msg(a->act[sig].sa_handler == b->act[sig].sa_handler, "signal %d handler", sig);
		ck_assert_msg(SA_AS_SET(a->act[sig].sa_flags) == SA_AS_SET(b->act[sig].sa_flags), "signal %d flags",
			      sig);
	}
}

START_TEST(test_hygiene)
{
	const char *replies[] = { OPEN_OK, CLOSE_OK };
	struct snapshot before, during, after;
	struct pamtest t;
	pam_handle_t *pamh;

	pamtest_peer(&t, replies, 2);
	pamh = pamtest_start(&t, "sshd", "root", "");
	/* The module is loaded by now (pam_start): its own fds, if any, count. */
	snap(&before);
	ck_assert_int_eq(pam.open_session(pamh, 0), PAM_SUCCESS);
	snap(&during);
	ck_assert_int_eq(pam.close_session(pamh, 0), PAM_SUCCESS);
	snap(&after);
	same(&before, &during);
	same(&before, &after);
	pamtest_end(&t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pam_daemon");
	TCase *tc = tcase_create("requests");

	tcase_add_test(tc, test_open_close_requests);
	tcase_add_test(tc, test_env_flags);
	tcase_add_test(tc, test_close_other_pid);
	tcase_add_loop_test(tc, test_deployment, 0, 2);
	tcase_add_loop_test(tc, test_refusal, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, test_hygiene);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
