/* proto: one JSON object per SOCK_SEQPACKET message, read strictly (size,
 * nesting, UTF-8, trailing bytes) because the peer may be hostile, plus the
 * client side (connect, call) with timeouts. Convention: 0 / fd or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fdpass.h"
#include "proto.h"

#define PROTO_DEPTH 16 /* our messages nest 3 deep; a bomb stops here */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none), for poll(). */
static int left_ms(int64_t deadline)
{
	int64_t d;

	if (deadline < 0)
		return -1;
	d = deadline - now_ms();
	return d < 0 ? 0 : d > 1000000000 ? 1000000000 : (int)d;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
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

int proto_send_flags(int sock, struct json_object *msg, const int *fds, size_t nfds, int flags)
{
	size_t len;
	const char *s;

	if (!msg)
		return -EINVAL;
	s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s)
		return -ENOMEM;
	if (len > PROTO_MSG_MAX)
		return -EMSGSIZE;
	return fdpass_send_flags(sock, s, len, fds, nfds, flags);
}

int proto_send(int sock, struct json_object *msg, const int *fds, size_t nfds)
{
	return proto_send_flags(sock, msg, fds, nfds, 0);
}

int proto_parse(const char *buf, size_t n, struct json_object **msg)
{
	struct json_tokener *tok;
	struct json_object *o;
	int r = -EBADMSG;

	*msg = NULL;
	if (n > PROTO_MSG_MAX)
		return -EMSGSIZE;
	/* json-c stops at a NUL; what follows it would go unseen. */
	if (n == 0 || memchr(buf, '\0', n))
		return -EBADMSG;
	tok = json_tokener_new_ex(PROTO_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)n);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n || !json_object_is_type(o, json_type_object))
		goto out;
	/* Every message is a request ("op") or a reply ("ok"). */
	if (!proto_str(o, "op")) {
		bool ok;

		if (proto_bool(o, "ok", &ok) < 0)
			goto out;
	}
	*msg = o;
	o = NULL;
	r = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

int proto_recv(int sock, struct json_object **msg, int *fds, size_t maxfds, size_t *nfds, int flags)
{
	/* One byte more than allowed: a message that fills it is too long. */
	char buf[PROTO_MSG_MAX + 1];
	ssize_t n;
	int r;

	*msg = NULL;
	*nfds = 0;
	n = fdpass_recv(sock, buf, sizeof(buf), fds, maxfds, nfds, flags);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n > PROTO_MSG_MAX)
		r = -EMSGSIZE;
	else
		r = proto_parse(buf, (size_t)n, msg);
	if (r < 0) {
		for (size_t i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return r;
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

int proto_roundtrip(int sock, int timeout_ms, struct json_object *req,
		    const int *fds, size_t nfds, struct json_object **reply)
{
	int64_t deadline = deadline_of(timeout_ms);
	size_t nrfds;
	bool ok;
	int r;

	*reply = NULL;
	/* Sending may wait too (the daemon's queue can be full); same deadline. */
	do {
		if ((r = wait_fd(sock, POLLOUT, deadline)) < 0)
			return r;
		r = proto_send_flags(sock, req, fds, nfds, MSG_DONTWAIT);
	} while (r == -EAGAIN);
	if (r < 0)
		return r;
	for (;;) {
		if ((r = wait_fd(sock, POLLIN, deadline)) < 0)
			return r;
		/* Replies never carry fds: any that come are closed by proto_recv. */
		r = proto_recv(sock, reply, NULL, 0, &nrfds, MSG_DONTWAIT);
		if (r != -EAGAIN)
			break;
	}
	if (r < 0)
		return r;
	if (proto_bool(*reply, "ok", &ok) < 0) {
		json_object_put(*reply);
		*reply = NULL;
		return -EBADMSG;
	}
	return 0;
}

int proto_call(const char *path, int timeout_ms, struct json_object *req,
	       const int *fds, size_t nfds, struct json_object **reply)
{
	int64_t deadline = deadline_of(timeout_ms);
	int fd, r;

	*reply = NULL;
	fd = proto_connect(path, timeout_ms);
	if (fd < 0)
		return fd;
	r = proto_roundtrip(fd, deadline < 0 ? -1 : left_ms(deadline), req, fds, nfds, reply);
	close(fd);
	return r;
}

const char *proto_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	/* "root\u0000x" must not pass for "root". */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

int proto_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	*out = json_object_get_int64(v);
	return 0;
}

int proto_int_range(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	errno = 0;
	x = json_object_get_int64(v);
	/* json-c clamps an unsigned value above INT64_MAX without errno. */
	if (errno || (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX))
		return -EINVAL;
	if (x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

int proto_u64(struct json_object *o, const char *key, uint64_t *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) <= INT64_MAX)
		return -EINVAL; /* a negative number */
	*out = json_object_get_uint64(v);
	return 0;
}

int proto_bool(struct json_object *o, const char *key, bool *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*out = json_object_get_boolean(v);
	return 0;
}

struct json_object *proto_reply_error(const char *msg)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg ? msg : "error"));
	return o;
}

struct json_object *proto_reply_ok(void)
{
	struct json_object *o = json_object_new_object();

	if (o)
		json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}
