/* proto: one JSON object per SOCK_SEQPACKET message, read strictly (size,
 * nesting, UTF-8, trailing bytes) because the peer may be hostile. The
 * client side (connect, call, requests) is protoclient.c.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "jsonadd.h"
#include "proto.h"

#define PROTO_DEPTH 16 /* our messages nest 3 deep; a bomb stops here */

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
	if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != n ||
	    !json_object_is_type(o, json_type_object))
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

	if (o && (jsonadd_bool(o, "ok", false) < 0 || jsonadd_str(o, "error", msg ? msg : "error") < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *proto_reply_ok(void)
{
	struct json_object *o = json_object_new_object();

	if (o && jsonadd_bool(o, "ok", true) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
