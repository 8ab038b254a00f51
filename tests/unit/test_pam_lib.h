/* test_pam_lib: what the pam_sessrec unit tests share: the real libpam
 * (loaded with dlopen, the unit tests are not linked against it), the
 * built module's path, a temporary PAM confdir with one service file, and a
 * conversation that keeps what the user would have been shown, a
 * stand-in for sessrecd's side of the socket, and one test's worth of all
 * of these (struct pamtest). */
#pragma once
#include <check.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "fdpass.h"
#include "proto.h"
#include "testutil.h"

struct libpam {
	int (*start_confdir)(const char *, const char *, const struct pam_conv *, const char *, pam_handle_t **);
	int (*end)(pam_handle_t *, int);
	int (*open_session)(pam_handle_t *, int);
	int (*close_session)(pam_handle_t *, int);
	int (*set_item)(pam_handle_t *, int, const void *);
	int (*putenv)(pam_handle_t *, const char *);
	const char *(*getenv)(pam_handle_t *, const char *);
};

static struct libpam pam;

static inline void libpam_load(void)
{
	/* RTLD_GLOBAL: the module, linked against libpam.so.0, binds to this
	 * very copy, the one that owns the handle. */
	void *h = dlopen("libpam.so.0", RTLD_NOW | RTLD_GLOBAL);

	ck_assert_msg(h, "dlopen libpam: %s", dlerror());
	*(void **)&pam.start_confdir = dlsym(h, "pam_start_confdir");
	*(void **)&pam.end = dlsym(h, "pam_end");
	*(void **)&pam.open_session = dlsym(h, "pam_open_session");
	*(void **)&pam.close_session = dlsym(h, "pam_close_session");
	*(void **)&pam.set_item = dlsym(h, "pam_set_item");
	*(void **)&pam.putenv = dlsym(h, "pam_putenv");
	*(void **)&pam.getenv = dlsym(h, "pam_getenv");
	ck_assert(pam.start_confdir && pam.end && pam.open_session && pam.close_session && pam.set_item && pam.putenv &&
		  pam.getenv);
}

/* The built module: SESSREC_PAM_MODULE, else next to this test in the
 * build tree (BUILD/tests/test_x -> BUILD/pam_sessrec/pam_sessrec.so). */
static inline const char *module_path(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	const char *env = getenv("SESSREC_PAM_MODULE");
	ssize_t n;
	char *slash;

	if (env && env[0])
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/../pam_sessrec/pam_sessrec.so", exe), (int)sizeof(path));
	ck_assert_msg(access(path, R_OK) == 0, "no module at %s", path);
	return path;
}

/* sigaction flags as the program set them: glibc adds the kernel-only
 * SA_RESTORER bit whenever an action is set, even when it restores the one
 * it read, so a save-and-restore shows up there and nowhere else. */
#define SA_AS_SET(f) ((f) & ~0x04000000)

/* What the user was shown, one message per line. */
struct said {
	char text[2048];
	int errors, infos;
};

static inline int conv_keep(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct said *s = data;

	for (int i = 0; i < n; i++) {
		size_t len = strlen(s->text);

		if (msg[i]->msg_style == PAM_ERROR_MSG)
			s->errors++;
		else if (msg[i]->msg_style == PAM_TEXT_INFO)
			s->infos++;
		else
			return PAM_CONV_ERR; /* a session module never asks */
		snprintf(s->text + len, sizeof(s->text) - len, "%s\n", msg[i]->msg);
	}
	*resp = NULL;
	return PAM_SUCCESS;
}

/* A private confdir holding service "name" with the given stack. */
struct confdir {
	char dir[64];
	char file[128];
};

static inline void confdir_make(struct confdir *c, const char *service, const char *stack)
{
	FILE *f;

	snprintf(c->dir, sizeof(c->dir), "/tmp/test_pam.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(c->dir));
	snprintf(c->file, sizeof(c->file), "%s/%s", c->dir, service);
	f = fopen(c->file, "w");
	ck_assert_ptr_nonnull(f);
	fputs(stack, f);
	ck_assert_int_eq(fclose(f), 0);
}

static inline void confdir_remove(struct confdir *c)
{
	unlink(c->file);
	rmdir(c->dir);
}

/* "session required MODULE ARGS\n" */
static inline void session_line(char *buf, size_t cap, const char *control, const char *args)
{
	ck_assert_int_lt(snprintf(buf, cap, "session %s %s %s\n", control, module_path(), args), (int)cap);
}

#define SID "0b8d3e02-7c41-4a55-9e0f-2f5b1c7d9a61"
#define TOKEN "Zm9vYmFyYmF6cXV4cXV1eGZyb2JuaWNhdGVzcGFtZWdnc2E"
#define OPEN_OK "{\"ok\":true,\"sid\":\"" SID "\",\"token\":\"" TOKEN "\"}"
#define CLOSE_OK "{\"ok\":true,\"state\":\"unattached\"}"
#define ATTACH_OK "{\"ok\":true,\"sid\":\"" SID "\"}"
#define NO_REPLY NULL
#define REFUSED "Session recording is unavailable; login refused.\n"

/* The daemon's stand-in: answers connection i with replies[i] (NULL: never
 * answers) and reports every request, one JSON line each, on a pipe. */
struct peer {
	pid_t pid;
	int report;
	char dir[64], path[108];
};

static inline void peer_serve(int lfd, int wr, const char *const *replies, int n)
{
	for (int i = 0; i < n; i++) {
		struct json_object *msg = NULL;
		int fds[2], c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), inner = -1, slave = -1;
		size_t nfds = 0;
		const char *line;

		if (c < 0 || proto_recv(c, &msg, fds, 2, &nfds, 0) < 0)
			_exit(2);
		json_object_object_add(msg, "nfds", json_object_new_int((int)nfds));
		{
			struct ucred cred;
			socklen_t cl = sizeof(cred);

			if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
				json_object_object_add(msg, "peer_uid", json_object_new_int((int)cred.uid));
		}
		for (size_t k = 0; k < nfds; k++) {
			struct stat st;
			char dev[32];

			if (fstat(fds[k], &st) == 0) {
				snprintf(dev, sizeof(dev), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
				json_object_object_add(msg, k ? "rdev1" : "rdev0", json_object_new_string(dev));
			}
		}
		/* The attach hands over the outer tty, which the daemon takes
		 * (hung up: login leads its session) and puts in raw mode, and
		 * it makes the inner pty: type into its master, send the slave. */
		if (nfds == 1 && replies[i] && strstr(replies[i], "\"ok\":true") && !strstr(replies[i], "dry_run")) {
			struct termios raw;

			if (tcgetattr(fds[0], &raw) == 0) {
				cfmakeraw(&raw);
				tcsetattr(fds[0], TCSANOW, &raw);
			}
			inner = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
			if (inner < 0 || grantpt(inner) < 0 || unlockpt(inner) < 0 ||
			    (slave = open(ptsname(inner), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
				_exit(3);
			if (ioctl(fds[0], 0x5437 /* TIOCVHANGUP */) < 0 || write(inner, "hello\r", 6) != 6)
				_exit(3);
		}
		line = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
		if (write(wr, line, strlen(line)) < 0 || write(wr, "\n", 1) != 1)
			_exit(4);
		json_object_put(msg);
		if (!replies[i])
			pause();
		if (fdpass_send(c, replies[i], strlen(replies[i]), &slave, slave >= 0) < 0)
			_exit(5);
		if (slave >= 0)
			close(slave);
		slave = -1;
		/* fds and c stay open: the relay would keep them. */
	}
	for (;;)
		pause();
}

static inline void peer_start(struct peer *p, const char *const *replies, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, pfd[2];

	snprintf(p->dir, sizeof(p->dir), "/tmp/test_pam_peer.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(p->dir));
	ck_assert_int_lt(snprintf(p->path, sizeof(p->path), "%s/s.sock", p->dir), (int)sizeof(p->path));
	memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	/* Reachable by any uid, as sessrecd's socket is. */
	ck_assert_int_eq(chmod(p->dir, 0755), 0);
	ck_assert_int_eq(chmod(p->path, 0666), 0);
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		close(pfd[0]);
		peer_serve(lfd, pfd[1], replies, n);
	}
	close(lfd);
	close(pfd[1]);
	p->report = pfd[0];
	fcntl(p->report, F_SETFL, O_NONBLOCK);
}

/* The requests reported so far (they are written before each reply). */
static inline int peer_requests(struct peer *p, struct json_object **out, int max)
{
	static char buf[65536];
	static size_t len;
	int n = 0;
	ssize_t r;
	char *s, *nl;

	while ((r = read(p->report, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	for (s = buf; n < max && (nl = strchr(s, '\n')); s = nl + 1) {
		*nl = '\0';
		out[n] = json_tokener_parse(s);
		ck_assert_ptr_nonnull(out[n]);
		n++;
	}
	len = 0;
	return n;
}

static inline void peer_stop(struct peer *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	close(p->report);
	unlink(p->path);
	/* What tests may have put beside the socket. */
	for (const char *const *f = (const char *const[]){ "devlog", "d.conf", NULL }; *f; f++) {
		char path[160];

		snprintf(path, sizeof(path), "%s/%s", p->dir, *f);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(p->dir), 0);
}

static inline const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static inline bool jhas(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* A confdir for service whose stack is the module, required, with
 * "socket=SOCKET ARGS", then the lines in more ("" for none); loads libpam
 * for the pam_start_confdir to come. */
static inline void confdir_module(struct confdir *cd, const char *service, const char *socket, const char *args,
				  const char *more)
{
	char stack[1024], full[768];

	libpam_load();
	ck_assert_int_lt(snprintf(full, sizeof(full), "socket=%s %s", socket, args), (int)sizeof(full));
	session_line(stack, sizeof(stack), "required", full);
	ck_assert_int_lt(strlen(stack) + strlen(more), sizeof(stack));
	strcat(stack, more);
	confdir_make(cd, service, stack);
}

/* pam_start_confdir as user on service with the stack of confdir_module. */
static inline pam_handle_t *start_stack(struct confdir *cd, struct said *said, struct pam_conv *conv,
					const char *service, const char *user, const char *socket, const char *args,
					const char *more)
{
	pam_handle_t *pamh = NULL;

	confdir_module(cd, service, socket, args, more);
	*conv = (struct pam_conv){ conv_keep, said };
	ck_assert_int_eq(pam.start_confdir(service, user, conv, cd->dir, &pamh), PAM_SUCCESS);
	return pamh;
}

/* pam_start_confdir on service with one module line "socket=PEER ARGS". */
static inline pam_handle_t *start(struct confdir *cd, struct said *said, struct pam_conv *conv, const char *service,
				  const char *user, const char *socket, const char *args)
{
	return start_stack(cd, said, conv, service, user, socket, args, "");
}

/* One test against the daemon's stand-in: the peer, the PAM handle on
 * its socket, and what the user was shown. */
struct pamtest {
	struct peer p;
	struct confdir cd;
	struct said said;
	struct pam_conv conv;
	pam_handle_t *pamh;
};

/* The peer, answering with replies[0..n-1]; the handle comes with
 * pamtest_start (a test may first put files beside the peer's socket). */
static inline void pamtest_peer(struct pamtest *t, const char *const *replies, int n)
{
	*t = (struct pamtest){ .said = { .text = "" } };
	peer_start(&t->p, replies, n);
}

static inline pam_handle_t *pamtest_start(struct pamtest *t, const char *service, const char *user, const char *args)
{
	t->pamh = start(&t->cd, &t->said, &t->conv, service, user, t->p.path, args);
	return t->pamh;
}

/* pam_end, then the peer and the confdir go. */
static inline void pamtest_end(struct pamtest *t)
{
	pam.end(t->pamh, PAM_SUCCESS);
	peer_stop(&t->p);
	confdir_remove(&t->cd);
}
