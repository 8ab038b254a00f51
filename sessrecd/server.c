/* server: listener, connections and replies of sessrecd (see server.h).
 * Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "fdpass.h"
#include "io.h"
#include "jsonadd.h"
#include "log.h"
#include "monoclock.h"
#include "ops.h"
#include "proto.h"
#include "server.h"
#include "session.h"

#define SERVER_BACKLOG 128
#define SERVER_ACCEPTS_PER_WAKE 16
#define SERVER_BACKOFF_MS 1000

/* One client connection; private: ops sees it through server.h. */
struct conn {
	struct conn *prev, *next;
	struct daemon *d;
	struct loop_io io;
	int fd;
	struct ucred cred;          /* SO_PEERCRED, taken at accept */
	struct session_waiter wait; /* wait.s: the close reply waits for this session's end */
	int64_t idle_deadline_ms;
};

const struct ucred *server_conn_peer(const struct conn *c)
{
	return &c->cred;
}

void server_conn_destroy(struct daemon *d, struct conn *c)
{
	loop_del(&d->loop, &c->io);
	close(c->fd);
	session_unwait(&c->wait);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nconns--;
	free(c);
}

void server_reply(struct daemon *d, struct conn *c, struct json_object *reply, bool close_after)
{
	int r = reply ? proto_send_flags(c->fd, reply, NULL, 0, MSG_DONTWAIT) : -ENOMEM;

	json_object_put(reply);
	/* -EAGAIN: a peer that lets its replies pile up is not served further. */
	if (r < 0 || close_after)
		server_conn_destroy(d, c);
}

bool server_reply_fds(struct daemon *d, struct conn *c, struct json_object *reply, int *fds, size_t nfds,
		      bool close_after)
{
	int r = reply ? proto_send_flags(c->fd, reply, fds, nfds, MSG_DONTWAIT) : -ENOMEM;

	json_object_put(reply);
	for (size_t i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	if (r < 0 || close_after) {
		server_conn_destroy(d, c);
		return false;
	}
	return true;
}

void server_reply_error(struct daemon *d, struct conn *c, const char *msg)
{
	server_reply(d, c, proto_reply_error(msg), true);
}

void server_reply_close(struct daemon *d, struct conn *c, const char *sid, const char *state)
{
	struct json_object *o = proto_reply_ok();

	if (o && (jsonadd_str(o, "sid", sid) < 0 || jsonadd_str(o, "state", state) < 0)) {
		json_object_put(o);
		o = NULL; /* the connection goes: server_reply */
	}
	c->wait.s = NULL;
	c->idle_deadline_ms = mono_ms() + DAEMON_CONN_IDLE_MS;
	if (loop_set(&d->loop, &c->io, c->fd, EPOLLIN | EPOLLRDHUP) < 0) {
		json_object_put(o);
		server_conn_destroy(d, c);
		return;
	}
	server_reply(d, c, o, false);
}

static void close_answer(struct session_waiter *w, const char *sid, const char *state)
{
	struct conn *c = (struct conn *)(void *)((char *)w - offsetof(struct conn, wait));

	server_reply_close(c->d, c, sid, state);
}

int server_wait_close(struct daemon *d, struct conn *c, struct session *s)
{
	int r;

	c->wait.ended = close_answer;
	if ((r = session_wait_end(s, &c->wait, mono_ms())) < 0)
		return r;
	/* Nothing more is read until the reply went out; a hangup still shows. */
	if (loop_set(&d->loop, &c->io, c->fd, EPOLLRDHUP) < 0)
		server_conn_destroy(d, c);
	return 0;
}

static void drained_answer(struct session_waiter *w, const char *sid, const char *state)
{
	struct conn *c = (struct conn *)(void *)((char *)w - offsetof(struct conn, wait));
	struct json_object *o = json_object_new_object();

	if (o && (jsonadd_str(o, "op", "drained") < 0 || jsonadd_str(o, "sid", sid) < 0 ||
		  jsonadd_str(o, "status", state) < 0)) {
		json_object_put(o);
		o = NULL;
	}
	server_reply(c->d, c, o, true);
}

void server_wait_drained(struct daemon *d, struct conn *c, struct session *s)
{
	c->wait.ended = drained_answer;
	if (session_wait_drained(s, &c->wait) < 0 || loop_set(&d->loop, &c->io, c->fd, EPOLLRDHUP) < 0)
		server_conn_destroy(d, c);
}

static void conn_cb(struct loop_io *io, uint32_t ev)
{
	struct conn *c = io->userdata;
	struct daemon *d = c->d;
	struct json_object *msg = NULL;
	int fds[FDPASS_MAX];
	size_t nfds = 0;
	int r;

	if (c->wait.s) {
		if (ev & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
			server_conn_destroy(d, c); /* the pending reply is dropped */
		return;
	}
	r = proto_recv(c->fd, &msg, fds, FDPASS_MAX, &nfds, MSG_DONTWAIT);
	switch (r) {
	case 0:
		break;
	case -EAGAIN:
		if (ev & (EPOLLHUP | EPOLLERR))
			server_conn_destroy(d, c);
		return;
	case -EMSGSIZE:
		server_reply_error(d, c, "message too large (at most 4096 bytes)");
		return;
	case -EBADMSG:
		server_reply_error(
			d, c, "malformed message: expected one JSON object with an \"op\" string and at most 4 fds");
		return;
	default: /* -ECONNRESET: the peer closed; anything else: give up on it */
		server_conn_destroy(d, c);
		return;
	}
	c->idle_deadline_ms = mono_ms() + DAEMON_CONN_IDLE_MS;
	ops_dispatch(d, c, msg, fds, nfds); /* c may be gone after this */
	json_object_put(msg);
}

static unsigned conns_of_uid(struct daemon *d, uid_t uid)
{
	unsigned n = 0;

	/* One waiting for its session's end is capped as a session
	 * (MaxSessionsPerUser=): else a user's long commands would leave
	 * their next attach no connection. */
	for (struct conn *c = d->conns; c; c = c->next)
		n += c->cred.uid == uid && !c->wait.s;
	return n;
}

int server_conn_install(struct daemon *d, int fd, const struct ucred *cred)
{
	struct conn *c;
	int r;

	/* Caps before any state: one local user cannot starve PAM (root). */
	if (d->nconns >= DAEMON_MAX_CONNS ||
	    (cred->uid != 0 && conns_of_uid(d, cred->uid) >= DAEMON_MAX_CONNS_PER_UID)) {
		close(fd);
		return -EMFILE;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->d = d;
	c->fd = fd;
	c->cred = *cred;
	c->idle_deadline_ms = mono_ms() + DAEMON_CONN_IDLE_MS;
	loop_io_init(&c->io, conn_cb, c);
	if ((r = loop_set(&d->loop, &c->io, fd, EPOLLIN | EPOLLRDHUP)) < 0) {
		close(fd);
		free(c);
		return r;
	}
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
	return 0;
}

static void accept_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;

	(void)ev;
	for (int i = 0; i < SERVER_ACCEPTS_PER_WAKE; i++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* As tmux does: back off instead of spinning on a
				 * connection we cannot take. */
				log_line("accept: %s; not accepting for %d ms", strerror(errno), SERVER_BACKOFF_MS);
				loop_del(&d->loop, &d->listen_io);
				/* The service re-arms its tick after these events. */
				d->accept_resume_ms = mono_ms() + SERVER_BACKOFF_MS;
				return;
			}
			log_line("accept: %s", strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
			close(fd);
			continue;
		}
		(void)server_conn_install(d, fd, &cred);
	}
}

/* A socket file at path nobody listens on is ours to replace; a live one
 * (another sessrecd) or anything that is not a socket is not. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = proto_connect(path, 1000);
	if (fd >= 0) {
		close(fd);
		snprintf(err, errlen, "another sessrecd is listening on %s", path);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int listen_path(struct daemon *d, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	struct stat st;
	int fd = -1, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((r = io_mkdir_p(dirname(dir), 0755)) < 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(-r));
		return r;
	}
	if ((r = clear_stale(path, err, errlen)) < 0) {
		if (!err[0])
			snprintf(err, errlen, "cannot replace %s: %s", path, strerror(-r));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, SERVER_BACKLOG) < 0) {
		/* Everyone may connect: each request is judged by SO_PEERCRED. */
		r = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	d->listen_fd = fd;
	snprintf(d->listen_path, sizeof(d->listen_path), "%s", path);
	if (stat(path, &st) == 0) {
		d->listen_dev = st.st_dev;
		d->listen_ino = st.st_ino;
	}
	return 0;
}

int server_listen(struct daemon *d, char *err, size_t errlen)
{
	int r;

	err[0] = '\0';
	/* A socket from the service manager or the previous daemon was taken
	 * by handoff_exec_collect (which also consumed LISTEN_FDS); else ours. */
	if (d->listen_fd < 0 && (r = listen_path(d, d->cfg.socket_path, err, errlen)) < 0)
		return r;
	loop_io_init(&d->listen_io, accept_cb, d);
	if ((r = loop_set(&d->loop, &d->listen_io, d->listen_fd, EPOLLIN)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-r));
		return r;
	}
	return 0;
}

void server_close(struct daemon *d)
{
	struct stat st;

	while (d->conns)
		server_conn_destroy(d, d->conns);
	if (d->listen_fd < 0)
		return;
	loop_del(&d->loop, &d->listen_io);
	close(d->listen_fd);
	d->listen_fd = -1;
	/* Only the socket we made: a newer daemon may own the path by now. */
	if (!d->listen_activated && d->listen_path[0] && stat(d->listen_path, &st) == 0 && st.st_dev == d->listen_dev &&
	    st.st_ino == d->listen_ino)
		unlink(d->listen_path);
}

void server_tick(struct daemon *d, int64_t now)
{
	struct conn *c, *next;

	for (c = d->conns; c; c = next) {
		next = c->next;
		if (!c->wait.s && now >= c->idle_deadline_ms)
			server_conn_destroy(d, c);
	}
	if (d->accept_resume_ms && now >= d->accept_resume_ms && d->listen_fd >= 0) {
		d->accept_resume_ms = 0;
		if (loop_set(&d->loop, &d->listen_io, d->listen_fd, EPOLLIN) < 0)
			d->accept_resume_ms = now + SERVER_BACKOFF_MS;
	}
}
