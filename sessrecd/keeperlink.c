/* keeperlink: the daemon's side of the keeper (see keeperlink.h): starting one,
 * finding the one a previous daemon left, taking its sessions, telling it
 * about sessions as they come and go. Nothing here blocks the loop but the
 * start-up steps (spawn, connect, take), which have timeouts.
 * Convention: 0 / fd / count or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "jsonadd.h"
#include "keeper.h"
#include "keeperlink.h"
#include "proto.h"
#include "uuid.h"

#define KEEPER_REPLY_MS 5000

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* After EAGAIN or EINTR: waits up to timeout_ms for fd to be ready for
 * events; 0 to try again, -ETIMEDOUT or -errno. */
static int wait_ready(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout_ms);

	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0 && errno != EINTR)
		return -errno;
	return 0;
}

/* One message within timeout_ms; the fds are the caller's. */
static int recv_within(int fd, int timeout_ms, struct json_object **msg, int *fds, size_t *nfds)
{
	int r;

	for (;;) {
		r = proto_recv(fd, msg, fds, FDPASS_MAX, nfds, MSG_DONTWAIT);
		if (r != -EAGAIN && r != -EINTR)
			return r;
		if ((r = wait_ready(fd, POLLIN, timeout_ms)) < 0)
			return r;
	}
}

static int send_within(int fd, int timeout_ms, struct json_object *msg)
{
	int r;

	for (;;) {
		r = proto_send_flags(fd, msg, NULL, 0, MSG_DONTWAIT);
		if (r != -EAGAIN && r != -EINTR)
			return r;
		if ((r = wait_ready(fd, POLLOUT, timeout_ms)) < 0)
			return r;
	}
}

/* In the forked child: only async-signal-safe calls until execve. */
static void child(int link, int devnull, char **argv, char **envp)
{
	sigset_t none;
	int l, n = -1;

	(void)setsid(); /* no terminal, no process group of the daemon's */
	/* Out of the way of 0..3 first, so no dup2 clobbers another. */
	l = fcntl(link, F_DUPFD, 10);
	if (devnull >= 0)
		n = fcntl(devnull, F_DUPFD, 10);
	if (l < 0 || dup2(l, KEEPER_LINK_FD) < 0)
		_exit(127);
	if (n >= 0) {
		(void)dup2(n, STDIN_FILENO);
		(void)dup2(n, STDOUT_FILENO);
	}
	/* stderr stays: the keeper's few lines go where the daemon's go. */
	(void)close_range(KEEPER_LINK_FD + 1, ~0U, 0);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/proc/self/exe", argv, envp);
	_exit(127);
}

int keeperlink_start(const char *socket_path, const char *name, pid_t *pid)
{
	char env[PATH_MAX + sizeof(KEEPER_ENV) + 2], title[64], *argv[2], *envp[2];
	int sv[2], devnull, r;
	pid_t p;

	if (snprintf(env, sizeof(env), "%s=%s", KEEPER_ENV, socket_path) >= (int)sizeof(env))
		return -ENAMETOOLONG;
	snprintf(title, sizeof(title), "%s", name);
	argv[0] = title;
	argv[1] = NULL;
	envp[0] = env;
	envp[1] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	p = fork();
	if (p == 0)
		child(sv[1], devnull, argv, envp);
	r = p < 0 ? -errno : 0;
	close(sv[1]);
	if (devnull >= 0)
		close(devnull);
	if (r == 0)
		r = set_nonblock(sv[0]);
	if (r < 0) {
		close(sv[0]);
		if (p > 0)
			(void)kill(p, SIGKILL); /* our child: the daemon's SIGCHLD reaps it */
		return r;
	}
	*pid = p;
	return sv[0];
}

int keeperlink_ready(int link, int timeout_ms)
{
	struct json_object *msg = NULL;
	int fds[FDPASS_MAX], r;
	bool ok = false;
	size_t nfds = 0;

	/* It says so once it listens for the next daemon. */
	r = recv_within(link, timeout_ms, &msg, fds, &nfds);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (r == 0 && (proto_bool(msg, "ok", &ok) < 0 || !ok || nfds))
		r = -EPROTO;
	json_object_put(msg);
	if (r == -ETIMEDOUT && timeout_ms == 0)
		return -EAGAIN;
	return r == -ECONNRESET ? -ECHILD : r;
}

int keeperlink_spawn(const char *socket_path, const char *name, pid_t *pid)
{
	pid_t p = 0;
	int link = keeperlink_start(socket_path, name, &p), r;

	if (link < 0)
		return link;
	if ((r = keeperlink_ready(link, KEEPERLINK_READY_MS)) < 0) {
		close(link);
		(void)kill(p, SIGKILL); /* our child: the daemon's SIGCHLD reaps it */
		return r;
	}
	*pid = p;
	return link;
}

int keeperlink_connect(const char *socket_path)
{
	char path[PATH_MAX];
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;
	int fd, r;

	if ((r = keeper_path(path, sizeof(path), socket_path)) < 0)
		return r;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	fd = proto_connect(path, 1000);
	if (fd < 0)
		return fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred) || cred.uid != 0) {
		close(fd);
		return -EPERM;
	}
	if ((r = set_nonblock(fd)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int keeperlink_take(int link, keeperlink_take_fn fn, void *userdata)
{
	struct json_object *req = json_object_new_object();
	int n = 0, r;

	if (!req || jsonadd_str(req, "op", "take") < 0)
		r = -ENOMEM;
	else
		r = send_within(link, KEEPER_REPLY_MS, req);
	json_object_put(req);
	while (r == 0) {
		struct json_object *msg = NULL;
		int fds[FDPASS_MAX];
		size_t nfds = 0;
		const char *op, *sid;
		int64_t lost = 0;
		size_t in = 0, st = 0;
		bool ok = false;

		if ((r = recv_within(link, KEEPER_REPLY_MS, &msg, fds, &nfds)) < 0)
			break;
		op = proto_str(msg, "op");
		sid = proto_str(msg, "sid");
		if (!op && proto_bool(msg, "ok", &ok) == 0 && ok && nfds == 0) {
			json_object_put(msg);
			return n;
		}
		if (op && strcmp(op, "session") == 0 && sid && uuid_valid(sid) && nfds >= 1 && nfds <= 3 &&
		    keeper_fds_split(msg, nfds, &in, &st) == 0) {
			(void)proto_int(msg, "lost_ns", &lost);
			fn(userdata, sid, fds[0], in ? fds[in] : -1, st ? fds[st] : -1, lost);
			n++;
		} else {
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
			r = -EPROTO;
		}
		json_object_put(msg);
	}
	return r;
}

static int send_op(int link, const char *op, const char *sid, const int *fds, size_t nfds, bool inner_only, bool state)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o || jsonadd_str(o, "op", op) < 0 || (sid && jsonadd_str(o, "sid", sid) < 0) ||
	    (inner_only && jsonadd_bool(o, "inner_only", true) < 0) || (state && jsonadd_bool(o, "state", true) < 0))
		r = -ENOMEM;
	else
		r = proto_send_flags(link, o, fds, nfds, MSG_DONTWAIT);
	json_object_put(o);
	return r;
}

int keeperlink_hold(int link, const char *sid, int outer, int inner, int state)
{
	int fds[3] = { outer };
	size_t n = 1;

	if (inner >= 0)
		fds[n++] = inner;
	if (state >= 0)
		fds[n++] = state;
	return send_op(link, "hold", sid, fds, n, false, state >= 0);
}

int keeperlink_drop(int link, const char *sid, bool inner_only)
{
	return send_op(link, "drop", sid, NULL, 0, inner_only, false);
}

int keeperlink_bye(int link)
{
	return send_op(link, "bye", NULL, NULL, 0, false, false);
}
