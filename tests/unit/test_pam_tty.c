/* Unit tests for pam_sessrec's mode=tty, the login(1) case: a process that
 * leads a session on a real pty (fd 0-2, as login has it) opens a PAM
 * session; the module registers, attaches that tty (the daemon hangs it up
 * and sends back the slave of the inner pty it made), and leaves the
 * process on the inner pty with SIGHUP as it was. Anywhere
 * else (not the session leader, su) it does not touch the terminal. The
 * daemon's side is the forked peer of test_pam_lib.h. */
#include <arpa/inet.h>
#include <check.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "test_pam_lib.h"

#define DRY_OK "{\"ok\":true,\"sid\":\"" SID "\",\"dry_run\":true}"
#define ATTACH_NO "{\"ok\":false,\"error\":\"attach refused: wrong tty\"}"

/* tty_nr (field 7) of /proc/self/stat: the controlling terminal. */
static long ctty_dev(void)
{
	char buf[1024], *p;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	long tty = -1;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %ld", &tty) != 1)
		tty = -1;
	return tty;
}

static long rdev_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (long)st.st_rdev : -1;
}

static void put_int(struct json_object *o, const char *k, long v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* The login stand-in, in a child: with leader set it starts a session
 * on a fresh pty that becomes its controlling terminal on fds 0-2, opens
 * the PAM session and reports what it then sees as one JSON line. */
static void as_login(int report, const char *confdir, const char *service, bool leader, const char *rhost,
		     const char *user)
{
	struct said said = { .text = "" };
	struct pam_conv conv = { conv_keep, &said };
	struct json_object *o = json_object_new_object();
	struct sigaction hup_before, hup_after;
	struct termios tio;
	pam_handle_t *pamh = NULL;
	char got[64] = "";
	const char *line, *sid;
	int m, s, rc;
	long outer;

	if (leader && setsid() < 0)
		_exit(10);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		_exit(11);
	s = open(ptsname(m), O_RDWR | (leader ? 0 : O_NOCTTY));
	if (s < 0 || dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
		_exit(12);
	close(s);
	outer = rdev_of(0);
	sigaction(SIGHUP, NULL, &hup_before);
	if (pam.start_confdir(service, user, &conv, confdir, &pamh) != PAM_SUCCESS)
		_exit(13);
	pam.set_item(pamh, PAM_TTY, ptsname(m) + 5);
	if (rhost)
		pam.set_item(pamh, PAM_RHOST, rhost);
	rc = pam.open_session(pamh, 0);
	sigaction(SIGHUP, NULL, &hup_after);

	put_int(o, "rc", rc);
	put_int(o, "outer", outer);
	put_int(o, "ctty", ctty_dev());
	put_int(o, "euid", (long)geteuid());
	put_int(o, "fd0", rdev_of(0));
	put_int(o, "fd1", rdev_of(1));
	put_int(o, "fd2", rdev_of(2));
	json_object_object_add(
		o, "hup_same",
		json_object_new_boolean(hup_before.sa_handler == hup_after.sa_handler &&
					SA_AS_SET(hup_before.sa_flags) == SA_AS_SET(hup_after.sa_flags)));
	json_object_object_add(o, "fg", json_object_new_boolean(tcgetpgrp(0) == getpgrp()));
	/* The outer terminal as the login left it when not switched. */
	if (tcgetattr(m, &tio) == 0)
		json_object_object_add(o, "outer_echo", json_object_new_boolean(tio.c_lflag & ECHO));
	if (rdev_of(0) != outer) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		ssize_t n = poll(&p, 1, 5000) == 1 ? read(0, got, sizeof(got) - 1) : -1;

		got[n > 0 ? n : 0] = '\0';
	}
	json_object_object_add(o, "read", json_object_new_string(got));
	json_object_object_add(o, "said", json_object_new_string(said.text));
	sid = pam.getenv(pamh, "SESSREC_SID");
	json_object_object_add(o, "sid", json_object_new_string(sid ? sid : ""));
	json_object_object_add(o, "token", json_object_new_boolean(pam.getenv(pamh, "SESSREC_TOKEN") != NULL));
	put_int(o, "close", rc == PAM_SUCCESS ? pam.close_session(pamh, 0) : -1);
	pam.end(pamh, PAM_SUCCESS);
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (write(report, line, strlen(line)) < 0)
		_exit(14);
	_exit(0);
}

/* Runs as_login in a child and returns its report. */
static struct json_object *run_login_from(struct peer *p, const char *service, const char *args, bool leader,
					  const char *rhost, const char *user)
{
	char buf[8192];
	struct confdir cd;
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	confdir_module(&cd, service, p->path, args, "");
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		as_login(pfd[1], cd.dir, service, leader, rhost, user);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "login stand-in: status %d", st);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	confdir_remove(&cd);
	return json_tokener_parse(buf);
}

static struct json_object *run_login(struct peer *p, const char *service, const char *args, bool leader)
{
	return run_login_from(p, service, args, leader, NULL, "root");
}

static long jint(struct json_object *o, const char *k)
{
	int64_t v = -999;

	ck_assert_msg(proto_int(o, k, &v) == 0, "no %s", k);
	return (long)v;
}

static bool jbool(struct json_object *o, const char *k)
{
	bool v = false;

	ck_assert_msg(proto_bool(o, k, &v) == 0, "no %s", k);
	return v;
}

START_TEST(test_tty_handover)
{
	const char *replies[] = { OPEN_OK, ATTACH_OK, CLOSE_OK };
	struct json_object *rep, *req[4];
	char outer[32];
	struct peer p;

	peer_start(&p, replies, 3);
	/* As the user daemon (uid 1): the attach must come from that uid. */
	rep = run_login_from(&p, "login", "fail=closed", true, NULL, "daemon");
	ck_assert_int_eq(jint(rep, "rc"), PAM_SUCCESS);
	ck_assert_str_eq(jstr(rep, "said"), "");
	/* Now on the inner pty: controlling terminal and fds 0-2 alike, in
	 * the foreground, and the daemon's typing arrives there. */
	ck_assert_int_ne(jint(rep, "ctty"), jint(rep, "outer"));
	ck_assert_int_eq(jint(rep, "fd0"), jint(rep, "ctty"));
	ck_assert_int_eq(jint(rep, "fd1"), jint(rep, "ctty"));
	ck_assert_int_eq(jint(rep, "fd2"), jint(rep, "ctty"));
	ck_assert(jbool(rep, "fg"));
	ck_assert(jbool(rep, "hup_same"));
	ck_assert_int_eq(jint(rep, "euid"), 0);
	ck_assert_str_eq(jstr(rep, "read"), "hello\n");
	ck_assert_str_eq(jstr(rep, "sid"), SID);
	ck_assert(!jbool(rep, "token")); /* spent by the module itself */
	ck_assert_int_eq(jint(rep, "close"), PAM_SUCCESS);

	ck_assert_int_eq(peer_requests(&p, req, 4), 3);
	ck_assert_str_eq(jstr(req[0], "op"), "open");
	ck_assert_str_eq(jstr(req[0], "service"), "login");
	ck_assert_str_eq(jstr(req[0], "proto"), "console");
	ck_assert_int_eq(jint(req[0], "peer_uid"), 0);
	ck_assert_int_eq(jint(req[0], "uid"), 1);
	ck_assert_str_eq(jstr(req[1], "op"), "attach");
	ck_assert_int_eq(jint(req[1], "peer_uid"), 1);
	ck_assert_str_eq(jstr(req[1], "token"), TOKEN);
	ck_assert_str_eq(jstr(req[1], "shell"), "/usr/sbin/nologin");
	ck_assert_str_eq(jstr(req[1], "sid"), SID);
	ck_assert_int_eq(jint(req[1], "nfds"), 1); /* the terminal only: no master */
	snprintf(outer, sizeof(outer), "%u:%u", major((dev_t)jint(rep, "outer")), minor((dev_t)jint(rep, "outer")));
	ck_assert_str_eq(jstr(req[1], "rdev0"), outer);
	ck_assert_str_eq(jstr(req[2], "op"), "close");
	ck_assert_int_eq(jint(req[2], "peer_uid"), 0);
	/* Root again after the attach: the close above came from uid 0. */
	for (int i = 0; i < 3; i++)
		json_object_put(req[i]);
	json_object_put(rep);
	peer_stop(&p);
}
END_TEST

/* telnetd runs login with -h NAME, a reverse-DNS name the client's owner
 * picks; the module takes the address of the connection login's parent
 * serves instead. Here the parent (this test) holds one accepted TCP
 * connection from a helper process. */
START_TEST(test_tty_telnet_peer)
{
	const char *replies[] = { OPEN_OK, ATTACH_OK, CLOSE_OK };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in local;
	socklen_t sl = sizeof(sa);
	struct json_object *rep, *req[4];
	int lfd, cfd, dupfd, go[2];
	struct peer p;
	pid_t helper;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(pipe(go), 0);
	helper = fork();
	ck_assert_int_ge(helper, 0);
	if (helper == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		close(lfd);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(1);
		sl = sizeof(local);
		getsockname(s, (struct sockaddr *)&local, &sl);
		if (write(go[1], &local.sin_port, sizeof(local.sin_port)) < 0)
			_exit(2);
		pause();
		_exit(0);
	}
	close(go[1]);
	ck_assert_int_eq(read(go[0], &local.sin_port, sizeof(local.sin_port)), (int)sizeof(local.sin_port));
	close(go[0]);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(cfd, 0);
	/* As inetd hands it over: the one connection on several fds. */
	dupfd = fcntl(cfd, F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(dupfd, 0);

	peer_start(&p, replies, 3);
	rep = run_login_from(&p, "login", "fail=closed", true, "attacker.example.org", "root");
	ck_assert_int_eq(jint(rep, "rc"), PAM_SUCCESS);
	ck_assert_int_eq(peer_requests(&p, req, 4), 3);
	ck_assert_str_eq(jstr(req[0], "proto"), "telnet");
	ck_assert_str_eq(jstr(req[0], "rhost"), "127.0.0.1");
	ck_assert_int_eq(jint(req[0], "rport"), ntohs(local.sin_port));
	for (int i = 0; i < 3; i++)
		json_object_put(req[i]);
	json_object_put(rep);
	peer_stop(&p);
	kill(helper, SIGKILL);
	waitpid(helper, NULL, 0);
	close(dupfd);
	close(cfd);
	close(lfd);
}
END_TEST

/* Without a connection to find, PAM_RHOST is what there is. */
START_TEST(test_tty_telnet_no_peer)
{
	const char *replies[] = { OPEN_OK, ATTACH_OK, CLOSE_OK };
	struct json_object *rep, *req[4];
	struct peer p;

	peer_start(&p, replies, 3);
	rep = run_login_from(&p, "login", "fail=closed", true, "client.example.org", "root");
	ck_assert_int_eq(jint(rep, "rc"), PAM_SUCCESS);
	ck_assert_int_eq(peer_requests(&p, req, 4), 3);
	ck_assert_str_eq(jstr(req[0], "proto"), "telnet");
	ck_assert_str_eq(jstr(req[0], "rhost"), "client.example.org");
	ck_assert(!jhas(req[0], "rport"));
	for (int i = 0; i < 3; i++)
		json_object_put(req[i]);
	json_object_put(rep);
	peer_stop(&p);
}
END_TEST

/* Where the switch cannot be made the terminal is not touched and
 * nothing is registered: refused or let through by the policy. */
static const struct untouched {
	const char *service, *args;
	bool leader;
	int expect;
} untouched[] = {
	{ "login", "fail=closed", false, PAM_SESSION_ERR },
	{ "login", "fail=open", false, PAM_SUCCESS },
	{ "su", "mode=tty fail=closed", true, PAM_PERM_DENIED }, /* PAM_IGNORE: nested */
	{ "sudo", "mode=tty fail=closed", true, PAM_PERM_DENIED },
};

START_TEST(test_tty_untouched)
{
	const struct untouched *u = &untouched[_i];
	const char *replies[] = { OPEN_OK, ATTACH_OK, CLOSE_OK };
	struct json_object *rep, *req[4];
	struct peer p;

	peer_start(&p, replies, 3);
	rep = run_login(&p, u->service, u->args, u->leader);
	ck_assert_int_eq(jint(rep, "rc"), u->expect);
	ck_assert_str_eq(jstr(rep, "said"), u->expect == PAM_SESSION_ERR ? REFUSED : "");
	ck_assert_int_eq(jint(rep, "fd0"), jint(rep, "outer"));
	if (u->leader)
		ck_assert_int_eq(jint(rep, "ctty"), jint(rep, "outer"));
	ck_assert(jbool(rep, "outer_echo"));
	ck_assert_int_eq(peer_requests(&p, req, 4), 0);
	json_object_put(rep);
	peer_stop(&p);
}
END_TEST

/* The daemon refuses the attach, or wants a dry run: the terminal stays
 * where it was, in the modes it had (the peer put it in raw mode). */
/* clang-format off */
static const struct kept {
	const char *attach_reply, *args;
	int expect, requests;
} kept[] = {
	{ DRY_OK, "fail=closed dry_run", PAM_SUCCESS, 3 },        /* open, attach, close */
	{ ATTACH_NO, "fail=open", PAM_SUCCESS, 3 },               /* open, attach, dropped */
	{ ATTACH_NO, "fail=closed", PAM_SESSION_ERR, 3 },
};
/* clang-format on */

START_TEST(test_tty_kept)
{
	const struct kept *k = &kept[_i];
	const char *replies[] = { OPEN_OK, k->attach_reply, CLOSE_OK };
	struct json_object *rep, *req[4];
	struct peer p;
	int n;

	peer_start(&p, replies, 3);
	rep = run_login(&p, "login", k->args, true);
	ck_assert_int_eq(jint(rep, "rc"), k->expect);
	ck_assert_int_eq(jint(rep, "ctty"), jint(rep, "outer"));
	ck_assert_int_eq(jint(rep, "fd0"), jint(rep, "outer"));
	ck_assert(jbool(rep, "outer_echo"));
	ck_assert(jbool(rep, "hup_same"));
	n = peer_requests(&p, req, 4);
	ck_assert_int_eq(n, k->requests);
	ck_assert_str_eq(jstr(req[1], "op"), "attach");
	ck_assert_str_eq(jstr(req[2], "op"), "close");
	/* A registration the module gave up on says so. */
	if (strcmp(k->attach_reply, ATTACH_NO) == 0)
		ck_assert_str_eq(jstr(req[2], "kind"), "not_recorded");
	else
		ck_assert(!jhas(req[2], "kind"));
	for (int i = 0; i < n; i++)
		json_object_put(req[i]);
	json_object_put(rep);
	peer_stop(&p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pam_tty");
	TCase *tc = tcase_create("tty");

	tcase_add_test(tc, test_tty_handover);
	tcase_add_test(tc, test_tty_telnet_peer);
	tcase_add_test(tc, test_tty_telnet_no_peer);
	tcase_add_loop_test(tc, test_tty_untouched, 0, (int)(sizeof(untouched) / sizeof(untouched[0])));
	tcase_add_loop_test(tc, test_tty_kept, 0, (int)(sizeof(kept) / sizeof(kept[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
