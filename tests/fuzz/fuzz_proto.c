/* fuzz_proto: each input is one SOCK_SEQPACKET message, with a pipe fd
 * attached, read by the real proto_recv; it must never crash, and every fd
 * it does not hand over must be closed (checked by the next free fd number). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int next_fd(void)
{
	int fd = dup(2);

	if (fd < 0)
		abort();
	close(fd);
	return fd;
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
	return 0;
}
