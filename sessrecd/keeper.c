/* keeper: the keeper process itself (see keeper.h): holds duplicates of the
 * session fds, answers its daemon over the link, waits for the next daemon
 * on "<socket>.keeper" when the link is gone. One poll() loop, no threads.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "jsonadd.h"
#include "keeper.h"
#include "log.h"
#include "monoclock.h"
#include "proto.h"
#include "uuid.h"

#define KEEPER_SEND_MS 5000 /* a daemon taking its sessions must read them */
#define KEEPER_POLL_MS 1000 /* hangup checks while no daemon is linked */

struct kept {
	char sid[UUID_STR_LEN];
	int outer, inner, state;
	int64_t hup_since_ms; /* 0: the terminal has not hung up */
};

struct keeper {
	int listen_fd, link;
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	struct kept *v;
	size_t n, cap;
	int64_t alone_since_ms; /* no daemon linked since then (0: one is) */
	int64_t lost_ns;        /* when the last daemon's link went */
	bool bye;               /* the daemon shut down cleanly */
};

int keeper_path(char *buf, size_t cap, const char *socket_path)
{
	int r = snprintf(buf, cap, "%s%s", socket_path, KEEPER_SUFFIX);

	return r < 0 || (size_t)r >= cap ? -ENAMETOOLONG : 0;
}

const char *keeper_name(const char *process_name)
{
	if (process_name && *process_name && strcmp(process_name, "sessrecd") != 0)
		return process_name;
	return KEEPER_NAME;
}

bool keeper_wanted(void)
{
	const char *p = getenv(KEEPER_ENV);

	return p && *p;
}

static struct kept *find(struct keeper *k, const char *sid)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].sid, sid) == 0)
			return &k->v[i];
	return NULL;
}

static void close_kept(struct kept *e)
{
	if (e->outer >= 0)
		close(e->outer);
	if (e->inner >= 0)
		close(e->inner);
	if (e->state >= 0)
		close(e->state);
	e->outer = e->inner = e->state = -1;
}

int keeper_fds_split(struct json_object *msg, size_t nfds, size_t *inner, size_t *state)
{
	bool st = false;

	(void)proto_bool(msg, "state", &st);
	if (nfds < 1 + (size_t)st || nfds > 2 + (size_t)st)
		return -EINVAL;
	*state = st ? nfds - 1 : 0;
	*inner = nfds - (size_t)st == 2 ? 1 : 0;
	return 0;
}

static void remove_at(struct keeper *k, size_t i)
{
	close_kept(&k->v[i]);
	k->v[i] = k->v[--k->n];
}

static int hold(struct keeper *k, const char *sid, int *fds, size_t inner, size_t state)
{
	struct kept *e = find(k, sid);

	if (!e) {
		if (k->n == k->cap) {
			size_t cap = k->cap ? 2 * k->cap : 64;
			struct kept *v = realloc(k->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			k->v = v;
			k->cap = cap;
		}
		e = &k->v[k->n++];
		memcpy(e->sid, sid, UUID_STR_LEN);
	} else {
		close_kept(e);
	}
	e->outer = fds[0];
	e->inner = inner ? fds[inner] : -1;
	e->state = state ? fds[state] : -1;
	e->hup_since_ms = 0;
	fds[0] = -1;
	if (inner)
		fds[inner] = -1;
	if (state)
		fds[state] = -1;
	return 0;
}

/* Sends on the link, waiting a little for room: the daemon reads its
 * sessions right after asking for them. */
static int send_wait(int fd, struct json_object *msg, const int *fds, size_t nfds)
{
	int64_t end = mono_ms() + KEEPER_SEND_MS;
	int r;

	for (;;) {
		r = proto_send_flags(fd, msg, fds, nfds, MSG_DONTWAIT);
		if (r != -EAGAIN && r != -EINTR)
			return r;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int64_t left = end - mono_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		(void)poll(&p, 1, (int)left);
	}
}

static int take(struct keeper *k)
{
	struct json_object *o;
	int r = 0;

	for (size_t i = 0; i < k->n && r == 0; i++) {
		struct kept *e = &k->v[i];
		int fds[3] = { e->outer };
		size_t n = 1;

		if (e->inner >= 0)
			fds[n++] = e->inner;
		if (e->state >= 0)
			fds[n++] = e->state;
		o = json_object_new_object();
		if (!o || jsonadd_str(o, "op", "session") < 0 || jsonadd_str(o, "sid", e->sid) < 0 ||
		    jsonadd_i64(o, "lost_ns", k->lost_ns) < 0 || (e->state >= 0 && jsonadd_bool(o, "state", true) < 0))
			r = -ENOMEM;
		else
			r = send_wait(k->link, o, fds, n);
		json_object_put(o);
	}
	if (r == 0) {
		o = proto_reply_ok();
		if (!o || jsonadd_i64(o, "n", (int64_t)k->n) < 0)
			r = -ENOMEM;
		else
			r = send_wait(k->link, o, NULL, 0);
		json_object_put(o);
	}
	return r;
}

static void unlink_link(struct keeper *k)
{
	if (k->link < 0)
		return;
	close(k->link);
	k->link = -1;
	k->alone_since_ms = mono_ms();
	k->lost_ns = mono_ns();
}

/* One request of the daemon; fds are ours to take or close. */
static void request(struct keeper *k, struct json_object *msg, int *fds, size_t nfds)
{
	const char *op = proto_str(msg, "op"), *sid = proto_str(msg, "sid");
	bool inner_only = false;
	size_t in = 0, st = 0;
	struct kept *e;
	int r;

	if (!op) {
		log_line("keeper: a message without op from the daemon; ignored");
	} else if (strcmp(op, "hold") == 0) {
		if (!sid || !uuid_valid(sid) || keeper_fds_split(msg, nfds, &in, &st) < 0)
			log_line("keeper: a malformed hold; ignored");
		else if ((r = hold(k, sid, fds, in, st)) < 0)
			log_line("keeper: session %s: cannot hold its fds: %s", sid, strerror(-r));
	} else if (strcmp(op, "drop") == 0 && sid) {
		(void)proto_bool(msg, "inner_only", &inner_only);
		e = find(k, sid);
		if (e && inner_only && e->inner >= 0) {
			close(e->inner);
			e->inner = -1;
		} else if (e && !inner_only) {
			remove_at(k, (size_t)(e - k->v));
		}
	} else if (strcmp(op, "take") == 0) {
		if ((r = take(k)) < 0) {
			log_line("keeper: cannot hand the sessions over: %s", strerror(-r));
			unlink_link(k);
		}
	} else if (strcmp(op, "bye") == 0) {
		k->bye = true;
	} else {
		log_line("keeper: unknown request from the daemon; ignored");
	}
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void read_link(struct keeper *k)
{
	while (k->link >= 0) {
		struct json_object *msg = NULL;
		int fds[FDPASS_MAX];
		size_t nfds = 0;
		int r = proto_recv(k->link, &msg, fds, FDPASS_MAX, &nfds, MSG_DONTWAIT);

		if (r == -EAGAIN || r == -EINTR)
			return;
		if (r == -EMSGSIZE || r == -EBADMSG) {
			log_line("keeper: a malformed message from the daemon; ignored");
			continue;
		}
		if (r < 0) { /* the daemon is gone */
			unlink_link(k);
			return;
		}
		request(k, msg, fds, nfds);
		json_object_put(msg);
	}
}

/* The next daemon: root only; it replaces the link of the last one. */
static void accept_daemon(struct keeper *k)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred) || cred.uid != 0) {
		close(fd);
		return;
	}
	if (k->link >= 0)
		unlink_link(k);
	k->link = fd;
	k->alone_since_ms = 0;
	k->bye = false;
}

static int listen_on(struct keeper *k)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(k->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, k->path);
	/* The daemon found nobody listening there: whatever is left is stale. */
	if (unlink(k->path) < 0 && errno != ENOENT)
		return -errno;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* umask 077 (set in keeper_main): the socket is born 0600. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(k->path, 0600) < 0 || listen(fd, 8) < 0 ||
	    stat(k->path, &st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	k->listen_fd = fd;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	return 0;
}

static void keeper_fini(struct keeper *k)
{
	struct stat st;

	while (k->n)
		remove_at(k, k->n - 1);
	free(k->v);
	if (k->link >= 0)
		close(k->link);
	if (k->listen_fd >= 0) {
		close(k->listen_fd);
		/* Only our own socket file: a newer keeper may own the path. */
		if (stat(k->path, &st) == 0 && st.st_dev == k->dev && st.st_ino == k->ino)
			unlink(k->path);
	}
}

/* Without a daemon nobody reads the terminals: one whose client left long
 * ago is let go, so its shell gets the hangup it would have had. */
static void check_hangups(struct keeper *k, int64_t now)
{
	struct pollfd *p = calloc(k->n, sizeof(*p));
	size_t n = k->n;

	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = k->v[i].outer, .events = 0 };
	if (poll(p, n, 0) < 0) {
		free(p);
		return;
	}
	/* Downwards: remove_at moves the last entry, already looked at, here. */
	for (size_t i = n; i-- > 0;) {
		struct kept *e = &k->v[i];

		if (!(p[i].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			e->hup_since_ms = 0;
		} else if (!e->hup_since_ms) {
			e->hup_since_ms = now;
		} else if (now - e->hup_since_ms >= KEEPER_HANGUP_GRACE_MS) {
			log_line("keeper: session %s: its terminal hung up and no daemon took it; let go", e->sid);
			remove_at(k, i);
		}
	}
	free(p);
}

static int run(struct keeper *k)
{
	int64_t checked_ms = 0;

	for (;;) {
		struct pollfd p[2];
		int64_t now = mono_ms();
		int timeout = -1;

		if (k->bye && k->n == 0)
			break;
		if (k->link < 0 && k->n == 0) {
			if (now - k->alone_since_ms >= KEEPER_IDLE_MS)
				break;
			timeout = (int)(KEEPER_IDLE_MS - (now - k->alone_since_ms));
		} else if (k->link < 0) {
			timeout = KEEPER_POLL_MS;
		}
		p[0] = (struct pollfd){ .fd = k->listen_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = k->link, .events = POLLIN };
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents)
			read_link(k);
		if (p[0].revents & POLLIN)
			accept_daemon(k);
		now = mono_ms();
		if (k->link < 0 && k->n && now - checked_ms >= KEEPER_POLL_MS) {
			checked_ms = now;
			check_hangups(k, now);
		}
	}
	return 0;
}

int keeper_main(const char *name)
{
	struct keeper k = { .listen_fd = -1, .link = KEEPER_LINK_FD };
	const char *sock = getenv(KEEPER_ENV);
	struct json_object *ready;
	struct rlimit rl;
	int r, fl;

	/* exec of /proc/self/exe named us "exe" */
	(void)prctl(PR_SET_NAME, (unsigned long)(name && *name ? name : KEEPER_NAME), 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	umask(077);
	if (chdir("/") < 0)
		return 1;
	if (!sock || keeper_path(k.path, sizeof(k.path), sock) < 0) {
		log_line("keeper: no usable socket path");
		return 1;
	}
	unsetenv(KEEPER_ENV);
	/* Three fds per session, as many as the daemon may have. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((fl = fcntl(k.link, F_GETFL)) < 0 || fcntl(k.link, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(k.link, F_SETFD, FD_CLOEXEC) < 0) {
		log_line("keeper: no link to the daemon on fd %d", KEEPER_LINK_FD);
		return 1;
	}
	if ((r = listen_on(&k)) < 0) {
		log_line("keeper: cannot listen on %s: %s", k.path, strerror(-r));
		close(k.link);
		return 1;
	}
	ready = proto_reply_ok();
	if (!ready || jsonadd_i64(ready, "pid", getpid()) < 0)
		r = -ENOMEM;
	else
		r = send_wait(k.link, ready, NULL, 0);
	json_object_put(ready);
	if (r < 0)
		unlink_link(&k);
	r = run(&k);
	if (r < 0)
		log_line("keeper: %s; letting go of %zu sessions", strerror(-r), k.n);
	keeper_fini(&k);
	return r < 0 ? 1 : 0;
}
