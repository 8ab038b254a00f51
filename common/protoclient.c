/* protoclient: the client side of the protocol (see protoclient.h): connect
 * with a deadline, the one call, the request builders.
 * Convention: 0 / fd or -errno; nothing here logs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "jsonadd.h"
#include "monoclock.h"
#include "proto.h"
#include "protoclient.h"

#define SESSIONID_UNSET 4294967295LL /* (uid_t)-1: the kernel's "no audit session" */

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
}

/* Milliseconds left until deadline (-1: none), for poll(). */
static int left_ms(int64_t deadline)
{
	int64_t d;

	if (deadline < 0)
		return -1;
	d = deadline - mono_ms();
	return d < 0 ? 0 : d > 1000000000 ? 1000000000 : (int)d;
}

/* Waits for events on fd; 0, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, left_ms(deadline));

		if (r > 0)
			return 0; /* errors and hangups show up in the next call */
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int proto_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = deadline_of(timeout_ms);
	size_t plen = path ? strlen(path) : 0;
	int fd, fl, r;

	if (plen == 0)
		return -EINVAL;
	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			socklen_t sl = sizeof(int);
			int err = 0;

			if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
				goto out;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0) {
				r = -errno;
				goto out;
			}
			if (err) {
				r = -err;
				goto out;
			}
			break;
		}
		if (errno != EAGAIN) {
			r = -errno;
			goto out;
		}
		/* AF_UNIX says EAGAIN (not EINPROGRESS) when the listener's
		 * backlog is full, and offers nothing to poll on: retry. */
		if (deadline >= 0 && left_ms(deadline) == 0) {
			r = -ETIMEDOUT;
			goto out;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		r = -errno;
		goto out;
	}
	return fd;
out:
	close(fd);
	return r;
}

/* The daemon takes the peer's credentials at connect() (SO_PEERCRED: the
 * effective uid), so a root client connects with the user's uid for that
 * one moment when the request speaks for the user (the attach of mode=tty). */
static int connect_as(const struct protoclient *c, const char *path, int timeout_ms)
{
	uid_t was = geteuid();
	bool sw = c->as_user && was != c->uid;
	int fd, e;

	if (sw && seteuid(c->uid) < 0)
		return -errno;
	fd = proto_connect(path, timeout_ms);
	if (sw && seteuid(was) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

/* req out and the one reply in on sock before deadline: 0 with rep->msg
 * (an object with an "ok" bool, in *ok) and rep->fds set, or -errno with
 * rep empty. */
static int exchange(int sock, int64_t deadline, struct json_object *req, const int *fds, size_t nfds, size_t maxrfds,
		    struct protoclient_reply *rep, bool *ok)
{
	int r;

	/* Sending may wait too (the daemon's queue can be full); same deadline. */
	do {
		if ((r = wait_fd(sock, POLLOUT, deadline)) < 0)
			return r;
		r = proto_send_flags(sock, req, fds, nfds, MSG_DONTWAIT);
	} while (r == -EAGAIN);
	if (r < 0)
		return r;
	do {
		if ((r = wait_fd(sock, POLLIN, deadline)) < 0)
			return r;
		/* More fds than maxrfds: -EBADMSG, and every one that came is closed. */
		r = proto_recv(sock, &rep->msg, rep->fds, maxrfds, &rep->nfds, MSG_DONTWAIT);
	} while (r == -EAGAIN);
	if (r < 0)
		return r;
	if (proto_bool(rep->msg, "ok", ok) < 0) {
		protoclient_reply_free(rep);
		return -EBADMSG;
	}
	return 0;
}

/* The call; with keep, the connection stays open on success (*keep). */
static int call(const struct protoclient *c, struct json_object *req, const int *fds, size_t nfds,
		struct protoclient_reply *rep, int *keep)
{
	int64_t deadline = deadline_of(c->timeout_ms > 0 ? c->timeout_ms : -1);
	const char *path = c->socket ? c->socket : PROTO_DEFAULT_SOCKET;
	size_t maxrfds = c->reply_fds < FDPASS_MAX ? c->reply_fds : FDPASS_MAX;
	bool ok = false;
	int sock, r;

	*rep = (struct protoclient_reply){ .msg = NULL };
	if (keep)
		*keep = -1;
	if (!req)
		return -ENOMEM;
	sock = connect_as(c, path, left_ms(deadline));
	if (sock < 0)
		return sock;
	rep->reached = true;
	r = exchange(sock, deadline, req, fds, nfds, maxrfds, rep, &ok);
	if (r == 0 && ok && keep)
		*keep = sock;
	else
		close(sock);
	if (r < 0)
		return r;
	if (!ok) {
		/* A refusal hands nothing over. */
		for (size_t i = 0; i < rep->nfds; i++)
			close(rep->fds[i]);
		rep->nfds = 0;
		return -EREMOTEIO;
	}
	return 0;
}

int protoclient_call(const struct protoclient *c, struct json_object *req, const int *fds, size_t nfds,
		     struct protoclient_reply *rep)
{
	return call(c, req, fds, nfds, rep, NULL);
}

int protoclient_call_keep(const struct protoclient *c, struct json_object *req, const int *fds, size_t nfds,
			  struct protoclient_reply *rep, int *sock)
{
	return call(c, req, fds, nfds, rep, sock);
}

int protoclient_wait_drained(int sock)
{
	struct json_object *msg = NULL;
	const char *op, *status;
	int fds[FDPASS_MAX];
	size_t nfds = 0;
	int r;

	do
		r = wait_fd(sock, POLLIN, -1);
	while (r == -EINTR);
	if (r < 0)
		return r;
	/* Blocking: the daemon answers once the session's end is written. */
	if ((r = proto_recv(sock, &msg, fds, FDPASS_MAX, &nfds, 0)) < 0)
		return r;
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	op = proto_str(msg, "op");
	status = proto_str(msg, "status");
	r = op && strcmp(op, "drained") == 0 && status && strcmp(status, "recorded") == 0 ? 0 : -EBADMSG;
	json_object_put(msg);
	return r;
}

void protoclient_reply_free(struct protoclient_reply *rep)
{
	json_object_put(rep->msg);
	rep->msg = NULL;
	for (size_t i = 0; i < rep->nfds; i++)
		close(rep->fds[i]);
	rep->nfds = 0;
}

const char *protoclient_error(const struct protoclient_reply *rep)
{
	const char *s = proto_str(rep->msg, "error");

	return s && s[0] ? s : NULL;
}

/* Requests --------------------------------------------------------------- */

/* key: v, left out when v is NULL. */
static int add_str(struct json_object *o, const char *key, const char *v)
{
	return v ? jsonadd_str(o, key, v) : 0;
}

/* A new request {"op":op}; NULL when memory ran out. */
static struct json_object *request(const char *op)
{
	struct json_object *o = json_object_new_object();

	if (o && add_str(o, "op", op) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The request, or NULL when a field could not go in (failed). */
static struct json_object *done(struct json_object *o, bool failed)
{
	if (failed) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *protoclient_req_open(const struct protoclient_open *o)
{
	struct json_object *req = request("open");

	if (!req)
		return NULL;
	return done(req, add_str(req, "user", o->user) < 0 || jsonadd_i64(req, "uid", o->uid) < 0 ||
				 add_str(req, "service", o->service) < 0 || add_str(req, "proto", o->proto) < 0 ||
				 add_str(req, "rhost", o->rhost) < 0 ||
				 (o->rport > 0 && jsonadd_i64(req, "rport", o->rport) < 0) ||
				 add_str(req, "tty", o->tty) < 0 || jsonadd_i64(req, "pid", o->pid) < 0 ||
				 (o->sessionid >= 0 && jsonadd_i64(req, "sessionid", o->sessionid) < 0) ||
				 (o->auth && o->auth[0] && add_str(req, "auth", o->auth) < 0) ||
				 jsonadd_bool(req, "input", o->input) < 0 ||
				 jsonadd_bool(req, "dry_run", o->dry_run) < 0 ||
				 (o->fail_closed && add_str(req, "fail", "closed") < 0));
}

/* attach with a terminal (term, shell) or without one (cmd). */
static struct json_object *attach_req(const char *token, const char *sid, const char *cmd, const char *term,
				      const char *shell)
{
	struct json_object *req = request("attach");

	if (!req)
		return NULL;
	return done(req, add_str(req, "token", token) < 0 || add_str(req, "sid", sid) < 0 ||
				 add_str(req, "cmd", cmd) < 0 || add_str(req, "term", term) < 0 ||
				 add_str(req, "shell", shell) < 0);
}

struct json_object *protoclient_req_attach(const char *token, const char *sid, const char *term, const char *shell)
{
	return attach_req(token, sid, NULL, term, shell);
}

struct json_object *protoclient_req_command(const char *token, const char *sid, const char *cmd)
{
	return attach_req(token, sid, cmd, NULL, NULL);
}

struct json_object *protoclient_req_close(const char *sid, const char *kind)
{
	struct json_object *req = request("close");

	if (!req)
		return NULL;
	return done(req, add_str(req, "sid", sid) < 0 || add_str(req, "kind", kind) < 0);
}

struct json_object *protoclient_req_list(int64_t offset)
{
	struct json_object *req = request("list");

	if (!req)
		return NULL;
	return done(req, offset > 0 && jsonadd_i64(req, "offset", offset) < 0);
}

long long protoclient_sessionid(void)
{
	char buf[32], *end;
	long long id;

	if (io_read_file("/proc/self/sessionid", buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	id = strtoll(buf, &end, 10);
	if (errno || end == buf || id < 0 || id >= SESSIONID_UNSET)
		return -1;
	return id;
}
