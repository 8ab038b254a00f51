/* handoff_msg: the pure parts of the handoff (see handoff_msg.h): fd names,
 * the gap marker, and the JSON the re-exec passes in its memfd. No daemon
 * state here, so it is unit-tested.
 * Convention: 0 / length or -errno. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff_msg.h"
#include "jsonadd.h"
#include "proto.h"

/* The suffixes of a session's fd names, by kind. */
static const struct {
	const char *suffix;
	enum handoff_kind kind;
} suffixes[] = { { "-outer", HANDOFF_FD_OUTER }, { "-inner", HANDOFF_FD_INNER }, { "-state", HANDOFF_FD_STATE } };

enum handoff_kind handoff_msg_fd_kind(const char *name, char sid[UUID_STR_LEN])
{
	size_t n = strlen(name);
	char buf[UUID_STR_LEN];

	if (strcmp(name, "listen") == 0)
		return HANDOFF_FD_LISTEN;
	if (strcmp(name, "keeper") == 0)
		return HANDOFF_FD_KEEPER;
	if (n != UUID_STR_LEN - 1 + strlen(suffixes[0].suffix))
		return HANDOFF_FD_UNKNOWN;
	memcpy(buf, name, UUID_STR_LEN - 1);
	buf[UUID_STR_LEN - 1] = '\0';
	if (!uuid_valid(buf))
		return HANDOFF_FD_UNKNOWN;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(name + UUID_STR_LEN - 1, suffixes[i].suffix) == 0) {
			memcpy(sid, buf, UUID_STR_LEN);
			return suffixes[i].kind;
		}
	}
	return HANDOFF_FD_UNKNOWN;
}

void handoff_msg_fd_name(char *buf, const char *sid, enum handoff_kind kind)
{
	const char *suffix = "";

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (suffixes[i].kind == kind)
			suffix = suffixes[i].suffix;
	snprintf(buf, HANDOFF_NAME_MAX, "%s%s", sid, suffix);
}

void handoff_msg_gap_text(char *buf, size_t cap, int64_t gap_ns)
{
	if (gap_ns < 0)
		gap_ns = 0;
	snprintf(buf, cap, "recorder restarted; gap %lld.%03lld s", (long long)(gap_ns / 1000000000),
		 (long long)(gap_ns % 1000000000 / 1000000));
}

void handoff_msg_resume_text(char *buf, size_t cap, const struct handoff_resume_counts *c)
{
	snprintf(buf, cap,
		 "resumed: %llu bytes recorded from the relay state, %llu bytes sent on to the terminal (%llu of them "
		 "taken by a read the stop cut short); %llu not recorded, %llu perhaps recorded twice, up to %llu "
		 "perhaps not shown",
		 (unsigned long long)c->rerecorded, (unsigned long long)c->resent, (unsigned long long)c->cut_read,
		 (unsigned long long)c->unrecorded, (unsigned long long)c->unsure, (unsigned long long)c->unshown);
}

/* {"name":..,"fd":..} for every fd; 0 or -ENOMEM. */
static int add_fds(struct json_object *arr, const struct handoff_msg *x)
{
	for (size_t i = 0; i < x->nfds; i++) {
		struct json_object *e = json_object_new_object();

		if (!e || jsonadd_str(e, "name", x->fds[i].name) < 0 || jsonadd_i64(e, "fd", x->fds[i].fd) < 0) {
			json_object_put(e);
			return -ENOMEM;
		}
		if (jsonadd_append(arr, e) < 0)
			return -ENOMEM;
	}
	return 0;
}

int handoff_msg_format(const struct handoff_msg *x, char **out)
{
	struct json_object *o = json_object_new_object(), *fds = json_object_new_array();
	const char *s;
	size_t len;
	int r = -ENOMEM;

	*out = NULL;
	if (!o || !fds || add_fds(fds, x) < 0 || (r = jsonadd_i64(o, "version", HANDOFF_VERSION)) < 0)
		goto out;
	r = jsonadd_value(o, "fds", fds);
	fds = NULL; /* o's now, or put */
	if (r < 0 || (r = jsonadd_bool(o, "listen_activated", x->listen_activated)) < 0 ||
	    (r = jsonadd_str(o, "listen_path", x->listen_path)) < 0 ||
	    (r = jsonadd_u64(o, "listen_dev", x->listen_dev)) < 0 ||
	    (r = jsonadd_u64(o, "listen_ino", x->listen_ino)) < 0 ||
	    (r = jsonadd_i64(o, "keeper_pid", x->keeper_pid)) < 0 || (r = jsonadd_i64(o, "resumed", x->resumed)) < 0 ||
	    (r = jsonadd_i64(o, "handoff_ns", x->handoff_ns)) < 0)
		goto out;
	r = -ENOMEM;
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s && (*out = strdup(s)) != NULL)
		r = (int)len;
out:
	json_object_put(fds);
	json_object_put(o);
	return r;
}

static int get_str(struct json_object *o, const char *key, char *dst, size_t cap)
{
	const char *s = proto_str(o, key); /* NULL too with an embedded NUL */
	size_t n = s ? strlen(s) : 0;

	if (!s || n >= cap)
		return -EINVAL;
	memcpy(dst, s, n + 1);
	return 0;
}

static int parse_fds(struct json_object *arr, struct handoff_msg *x)
{
	size_t n = json_object_array_length(arr);

	x->fds = calloc(n ? n : 1, sizeof(*x->fds));
	if (!x->fds)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		int64_t fd;

		if (!json_object_is_type(e, json_type_object) ||
		    get_str(e, "name", x->fds[i].name, sizeof(x->fds[i].name)) < 0 ||
		    proto_int_range(e, "fd", 0, INT32_MAX, &fd) < 0)
			return -EINVAL;
		x->fds[i].fd = (int)fd;
		x->nfds = i + 1;
	}
	return 0;
}

int handoff_msg_parse(const char *text, size_t n, struct handoff_msg *x)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL, *v;
	int64_t version, pid, resumed, ns;
	int r = -EINVAL;

	memset(x, 0, sizeof(*x));
	if (n == 0 || n > INT32_MAX || memchr(text, '\0', n))
		return -EINVAL;
	if (!(tok = json_tokener_new_ex(8)))
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)n);
	if (!o || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != n ||
	    !json_object_is_type(o, json_type_object))
		goto out;
	if (proto_int_range(o, "version", HANDOFF_VERSION, HANDOFF_VERSION, &version) < 0 ||
	    !json_object_object_get_ex(o, "fds", &v) || !json_object_is_type(v, json_type_array))
		goto out;
	if ((r = parse_fds(v, x)) < 0)
		goto out;
	r = -EINVAL;
	if (!json_object_object_get_ex(o, "listen_activated", &v) || !json_object_is_type(v, json_type_boolean))
		goto out;
	x->listen_activated = json_object_get_boolean(v);
	if (get_str(o, "listen_path", x->listen_path, sizeof(x->listen_path)) < 0 ||
	    proto_u64(o, "listen_dev", &x->listen_dev) < 0 || proto_u64(o, "listen_ino", &x->listen_ino) < 0 ||
	    proto_int_range(o, "keeper_pid", 0, INT32_MAX, &pid) < 0 ||
	    proto_int_range(o, "resumed", 0, UINT32_MAX, &resumed) < 0 ||
	    proto_int_range(o, "handoff_ns", 0, INT64_MAX, &ns) < 0)
		goto out;
	x->keeper_pid = pid;
	x->resumed = (unsigned)resumed;
	x->handoff_ns = ns;
	r = 0;
out:
	if (r < 0)
		handoff_msg_free(x);
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

void handoff_msg_free(struct handoff_msg *x)
{
	free(x->fds);
	memset(x, 0, sizeof(*x));
}
