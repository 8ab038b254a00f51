/* fuzz_proto: each input is one SOCK_SEQPACKET message, with a pipe fd
 * attached, read by the real proto_recv, then the same message as the
 * daemon's reply to protoclient_call (served by a thread on a socket in a
 * temporary directory); neither may crash, and every fd not handed over
 * must be closed (checked by the next free fd number). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdpass.h"
#include "proto.h"
#include "protoclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int next_fd(void)
{
	int fd = dup(2);

	if (fd < 0)
		abort();
	close(fd);
	return fd;
}

static char sockdir[] = "/tmp/fuzz_proto.XXXXXX", sockpath[64];
static int listener = -1;

static void cleanup(void)
{
	unlink(sockpath);
	rmdir(sockdir);
}

static void listen_once(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (listener >= 0)
		return;
	if (!mkdtemp(sockdir))
		abort();
	snprintf(sockpath, sizeof(sockpath), "%s/s.sock", sockdir);
	strcpy(sa.sun_path, sockpath);
	listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listener, 4) < 0)
		abort();
	atexit(cleanup);
}

struct reply {
	const uint8_t *data;
	size_t size;
};

/* The daemon's side of one call: read the request, answer with the input
 * (and a pipe fd), hang up. */
static void *serve(void *arg)
{
	const struct reply *rep = arg;
	int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC), p[2], bufsz = 1 << 18;
	char buf[PROTO_MSG_MAX];

	if (c < 0 || pipe(p) < 0)
		abort();
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (recv(c, buf, sizeof(buf), 0) > 0)
		(void)fdpass_send(c, rep->data, rep->size, p, 1);
	close(p[0]);
	close(p[1]);
	close(c);
	return NULL;
}

/* The input as the reply to a call that allows one fd back. */
static void as_reply(const uint8_t *data, size_t size)
{
	struct protoclient c = { .timeout_ms = 5000, .reply_fds = 1 };
	struct json_object *req = protoclient_req_close("SID", NULL);
	struct reply in = { data, size };
	struct protoclient_reply rep;
	pthread_t t;
	int before, r;

	listen_once();
	c.socket = sockpath;
	before = next_fd();
	if (!req || pthread_create(&t, NULL, serve, &in) != 0)
		abort();
	r = protoclient_call(&c, req, NULL, 0, &rep);
	pthread_join(t, NULL);
	if ((r == 0 || r == -EREMOTEIO) != (rep.msg != NULL) || (r != 0 && rep.nfds != 0) || rep.nfds > 1)
		abort();
	(void)protoclient_error(&rep);
	protoclient_reply_free(&rep);
	json_object_put(req);
	if (next_fd() != before)
		abort(); /* an fd leaked */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *msg = NULL;
	int sv[2], p[2], fds[FDPASS_MAX], bufsz = 1 << 18, before;
	size_t nfds = 0;
	int64_t i;
	bool b;

	if (size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (pipe(p) < 0)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (fdpass_send(sv[0], data, size, p, 1) < 0)
		abort();
	close(p[0]);
	close(p[1]);
	before = next_fd();
	if (proto_recv(sv[1], &msg, fds, 1, &nfds, MSG_DONTWAIT) == 0) {
		if (!msg || nfds != 1)
			abort();
		close(fds[0]);
		/* What a handler does next with it. */
		(void)proto_str(msg, "op");
		(void)proto_str(msg, "token");
		(void)proto_int(msg, "uid", &i);
		(void)proto_bool(msg, "ok", &b);
		(void)json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
		json_object_put(msg);
	} else if (msg || nfds != 0) {
		abort();
	}
	if (next_fd() != before)
		abort(); /* an fd leaked */
	close(sv[0]);
	close(sv[1]);
	as_reply(data, size);
	return 0;
}
