/* state: session state <-> JSON (json-c), the state file's path and load.
 * Convention: 0 / length or -errno. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "io.h"
#include "jsonadd.h"
#include "proto.h"
#include "state.h"

/* F_NOFD: a key STATE_VERSION 1 carries for daemons that kept live fds in
 * the state; written as -1, checked on reading, never used. */
enum ftype { F_STR, F_HEAP, F_I64, F_BOOL, F_U64, F_UINT, F_INT, F_LONG, F_NOFD };

struct field {
	const char *key;
	enum ftype type;
	size_t off;
	size_t size;   /* F_STR: buffer size; F_HEAP: its limit */
	bool optional; /* absent in older state files: left as zero */
};

/* clang-format off */
#define S(k) { #k, F_STR, offsetof(struct session_state, k), sizeof(((struct session_state *)0)->k), false }
#define H(k, max) { #k, F_HEAP, offsetof(struct session_state, k), max, false }
#define N(k, t) { #k, t, offsetof(struct session_state, k), 0, false }

static const struct field fields[] = {
	S(sid), S(user), S(service), S(proto), S(src_ip), S(tty), H(auth, STATE_AUTH_MAX), H(cmd, STATE_CMD_MAX),
	S(term), S(shell), H(shard, STATE_PATH_MAX),
	N(uid, F_I64), N(pid, F_I64), N(audit_session, F_I64), N(src_port, F_INT),
	N(input, F_BOOL), N(dry_run, F_BOOL), N(start_sec, F_I64), N(start_usec, F_LONG),
	N(start_mono_ns, F_I64), N(bytes_in, F_U64), N(bytes_out, F_U64),
	N(bytes_recorded, F_U64), N(withheld, F_U64), N(resizes, F_UINT),
	N(withheld_lines, F_U64), N(out_recorded, F_U64),
	N(truncated, F_BOOL), N(failed, F_BOOL), N(have_termios, F_BOOL),
	N(cols, F_UINT), N(rows, F_UINT), { "outer_fd", F_NOFD, 0, 0, false }, { "master_fd", F_NOFD, 0, 0, false },
	H(owner, STATE_PATH_MAX), N(cap, F_U64), N(withhold, F_BOOL), N(saved_ns, F_I64), N(handoff_ns, F_I64),
	{ "fail_closed", F_BOOL, offsetof(struct session_state, fail_closed), 0, true },
};
/* clang-format on */

int state_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src ? src : "", n + 1);
	return 0;
}

int state_set(char **dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	char *p = NULL;

	if (n >= cap)
		return -ENAMETOOLONG;
	if (n && !(p = strndup(src, n)))
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

void state_free(struct session_state *st)
{
	char **strs[] = { &st->auth, &st->cmd, &st->shard, &st->owner };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

int state_dup(struct session_state *dst, const struct session_state *src)
{
	*dst = *src;
	dst->auth = dst->cmd = dst->shard = dst->owner = NULL;
	if (state_set(&dst->auth, STATE_AUTH_MAX, src->auth) < 0 || state_set(&dst->cmd, STATE_CMD_MAX, src->cmd) < 0 ||
	    state_set(&dst->shard, STATE_PATH_MAX, src->shard) < 0 ||
	    state_set(&dst->owner, STATE_PATH_MAX, src->owner) < 0) {
		state_free(dst);
		return -ENOMEM;
	}
	return 0;
}

int state_path(char *buf, size_t cap, const char *dir, const char *sid)
{
	int r = snprintf(buf, cap, "%s/%s", dir, sid);

	return r < 0 || (size_t)r >= cap ? -ENAMETOOLONG : r;
}

static struct json_object *termios_json(const struct termios *t)
{
	struct json_object *o = json_object_new_object();
	char cc[2 * NCCS + 1];

	for (size_t i = 0; i < NCCS; i++)
		snprintf(cc + 2 * i, 3, "%02x", t->c_cc[i]);
	if (!o || jsonadd_i64(o, "iflag", t->c_iflag) < 0 || jsonadd_i64(o, "oflag", t->c_oflag) < 0 ||
	    jsonadd_i64(o, "cflag", t->c_cflag) < 0 || jsonadd_i64(o, "lflag", t->c_lflag) < 0 ||
	    jsonadd_i64(o, "line", t->c_line) < 0 || jsonadd_str(o, "cc", cc) < 0 ||
	    jsonadd_i64(o, "ispeed", cfgetispeed(t)) < 0 || jsonadd_i64(o, "ospeed", cfgetospeed(t)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *field_json(const struct field *f, const struct session_state *st)
{
	const char *p = (const char *)st + f->off;

	/* clang-format off */
	switch (f->type) {
	case F_STR: return json_object_new_string(p);
	case F_HEAP: return json_object_new_string(state_str(*(char *const *)(const void *)p));
	case F_I64: return json_object_new_int64(*(const int64_t *)(const void *)p);
	case F_BOOL: return json_object_new_boolean(*(const bool *)(const void *)p);
	case F_U64: return json_object_new_uint64(*(const uint64_t *)(const void *)p);
	case F_UINT: return json_object_new_int64(*(const unsigned *)(const void *)p);
	case F_INT: return json_object_new_int64(*(const int *)(const void *)p);
	case F_LONG: return json_object_new_int64(*(const long *)(const void *)p);
	case F_NOFD: return json_object_new_int64(-1);
	}
	/* clang-format on */
	return NULL;
}

static struct json_object *loss_json(const struct state_loss *l)
{
	struct json_object *o = json_object_new_object();

	if (!o || jsonadd_i64(o, "stage", l->stage) < 0 || jsonadd_i64(o, "err", l->err) < 0 ||
	    jsonadd_bool(o, "at_least", l->at_least) < 0 || jsonadd_bool(o, "out_at_least", l->out_at_least) < 0 ||
	    jsonadd_bool(o, "stated_at_least", l->stated_at_least) < 0 ||
	    jsonadd_u64(o, "pending_bytes", l->pending_bytes) < 0 ||
	    jsonadd_u64(o, "pending_out", l->pending_out) < 0 || jsonadd_u64(o, "pending_in", l->pending_in) < 0 ||
	    jsonadd_u64(o, "stated_bytes", l->stated_bytes) < 0 || jsonadd_u64(o, "stated_out", l->stated_out) < 0 ||
	    jsonadd_u64(o, "stated_in", l->stated_in) < 0 || jsonadd_u64(o, "off", l->off) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *tty_owner_json(const struct state_tty_owner *w)
{
	struct json_object *o = json_object_new_object();

	if (!o || jsonadd_i64(o, "uid", w->uid) < 0 || jsonadd_i64(o, "gid", w->gid) < 0 ||
	    jsonadd_i64(o, "mode", w->mode) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* st as a JSON object; NULL when out of memory. */
static struct json_object *state_object(const struct session_state *st)
{
	struct json_object *o = json_object_new_object();

	if (!o || jsonadd_i64(o, "version", STATE_VERSION) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (jsonadd_value(o, fields[i].key, field_json(&fields[i], st)) < 0)
			goto fail;
	if (st->have_termios && jsonadd_value(o, "termios", termios_json(&st->termios)) < 0)
		goto fail;
	if (jsonadd_value(o, "loss", loss_json(&st->loss)) < 0)
		goto fail;
	if (st->tty_owner.taken && jsonadd_value(o, "tty_owner", tty_owner_json(&st->tty_owner)) < 0)
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

int state_to_json(const struct session_state *st, char *buf, size_t cap)
{
	struct json_object *o = state_object(st);
	const char *s;
	size_t len;
	int r = -ENOSPC;

	if (!o)
		return -ENOMEM;
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s && len < cap) {
		memcpy(buf, s, len + 1);
		r = (int)len;
	}
	json_object_put(o);
	return r;
}

static int termios_from(struct json_object *o, struct termios *t)
{
	static const char *const keys[] = { "iflag", "oflag", "cflag", "lflag" };
	tcflag_t *flags[] = { &t->c_iflag, &t->c_oflag, &t->c_cflag, &t->c_lflag };
	struct json_object *v;
	const char *cc;
	int64_t x;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < 4; i++) {
		if (proto_int_range(o, keys[i], 0, UINT32_MAX, &x) < 0)
			return -EINVAL;
		*flags[i] = (tcflag_t)x;
	}
	if (proto_int_range(o, "line", 0, 255, &x) < 0)
		return -EINVAL;
	t->c_line = (cc_t)x;
	if (!json_object_object_get_ex(o, "cc", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) != 2 * NCCS)
		return -EINVAL;
	cc = json_object_get_string(v);
	for (size_t i = 0; i < NCCS; i++) {
		unsigned b;

		if (sscanf(cc + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		t->c_cc[i] = (cc_t)b;
	}
	if (proto_int_range(o, "ispeed", 0, UINT32_MAX, &x) < 0 || cfsetispeed(t, (speed_t)x) < 0)
		return -EINVAL;
	if (proto_int_range(o, "ospeed", 0, UINT32_MAX, &x) < 0 || cfsetospeed(t, (speed_t)x) < 0)
		return -EINVAL;
	return 0;
}

static int field_from(struct json_object *o, const struct field *f, struct session_state *st)
{
	char *p = (char *)st + f->off;
	struct json_object *v;
	int64_t x;
	int r;

	if (!json_object_object_get_ex(o, f->key, &v))
		return f->optional ? 0 : -EINVAL;
	switch (f->type) {
	case F_STR:
		if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) >= f->size ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
			return -EINVAL;
		memcpy(p, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
		return 0;
	case F_HEAP:
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
			return -EINVAL;
		r = state_set((char **)(void *)p, f->size, json_object_get_string(v));
		return r == -ENAMETOOLONG ? -EINVAL : r;
	case F_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		*(bool *)(void *)p = json_object_get_boolean(v);
		return 0;
	case F_U64:
		return proto_u64(o, f->key, (uint64_t *)(void *)p);
	case F_I64:
		if (proto_int_range(o, f->key, INT64_MIN, INT64_MAX, &x) < 0)
			return -EINVAL;
		*(int64_t *)(void *)p = x;
		return 0;
	case F_LONG:
		if (proto_int_range(o, f->key, 0, 999999, &x) < 0)
			return -EINVAL;
		*(long *)(void *)p = (long)x;
		return 0;
	case F_UINT:
		if (proto_int_range(o, f->key, 0, UINT32_MAX, &x) < 0)
			return -EINVAL;
		*(unsigned *)(void *)p = (unsigned)x;
		return 0;
	case F_INT:
		if (proto_int_range(o, f->key, INT32_MIN, INT32_MAX, &x) < 0)
			return -EINVAL;
		*(int *)(void *)p = (int)x;
		return 0;
	case F_NOFD:
		return proto_int_range(o, f->key, INT32_MIN, INT32_MAX, &x) < 0 ? -EINVAL : 0;
	}
	return -EINVAL;
}

/* The "loss" object; a state file of an older daemon has none (no loss). */
static int loss_from(struct json_object *o, struct state_loss *l)
{
	struct json_object *v;
	int64_t x;

	memset(l, 0, sizeof(*l));
	if (!json_object_object_get_ex(o, "loss", &o))
		return 0;
	if (!json_object_is_type(o, json_type_object) || proto_int_range(o, "stage", 0, 4, &x) < 0)
		return -EINVAL;
	l->stage = (int)x;
	if (proto_int_range(o, "err", 0, 4095, &x) < 0)
		return -EINVAL;
	l->err = (int)x;
	if (!json_object_object_get_ex(o, "at_least", &v) || !json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	l->at_least = json_object_get_boolean(v);
	if (!json_object_object_get_ex(o, "out_at_least", &v) || !json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	l->out_at_least = json_object_get_boolean(v);
	if (!json_object_object_get_ex(o, "stated_at_least", &v) || !json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	l->stated_at_least = json_object_get_boolean(v);
	if (proto_u64(o, "pending_bytes", &l->pending_bytes) < 0 || proto_u64(o, "pending_out", &l->pending_out) < 0 ||
	    proto_u64(o, "pending_in", &l->pending_in) < 0 || proto_u64(o, "stated_bytes", &l->stated_bytes) < 0 ||
	    proto_u64(o, "stated_out", &l->stated_out) < 0 || proto_u64(o, "stated_in", &l->stated_in) < 0 ||
	    proto_u64(o, "off", &l->off) < 0)
		return -EINVAL;
	return 0;
}

/* The "tty_owner" object; absent: the daemon did not take the tty. */
static int tty_owner_from(struct json_object *o, struct state_tty_owner *w)
{
	int64_t uid, gid, mode;

	memset(w, 0, sizeof(*w));
	if (!json_object_object_get_ex(o, "tty_owner", &o))
		return 0;
	if (!json_object_is_type(o, json_type_object) || proto_int_range(o, "uid", 0, UINT32_MAX - 1, &uid) < 0 ||
	    proto_int_range(o, "gid", 0, UINT32_MAX - 1, &gid) < 0 || proto_int_range(o, "mode", 0, 07777, &mode) < 0)
		return -EINVAL;
	*w = (struct state_tty_owner){ .taken = true, .uid = uid, .gid = gid, .mode = (unsigned)mode };
	return 0;
}

static int from_object(struct json_object *o, struct session_state *st)
{
	struct json_object *t;
	int64_t version;

	if (proto_int_range(o, "version", STATE_VERSION, STATE_VERSION, &version) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (field_from(o, &fields[i], st) < 0)
			return -EINVAL;
	if (!uuid_valid(st->sid) || loss_from(o, &st->loss) < 0 || tty_owner_from(o, &st->tty_owner) < 0)
		return -EINVAL;
	if (st->have_termios) {
		if (!json_object_object_get_ex(o, "termios", &t) || !json_object_is_type(t, json_type_object) ||
		    termios_from(t, &st->termios) < 0)
			return -EINVAL;
	}
	return 0;
}

/* One JSON object from text (strict); NULL when it is not exactly that. */
static struct json_object *parse_object(const char *text, size_t n, size_t max, int *err)
{
	struct json_tokener *tok;
	struct json_object *o;

	*err = -EINVAL;
	if (n == 0 || n > max || memchr(text, '\0', n))
		return NULL;
	tok = json_tokener_new_ex(8);
	if (!tok) {
		*err = -ENOMEM;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)n);
	if (o && (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != n ||
		  !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int state_from_json(const char *text, size_t n, struct session_state *st)
{
	struct json_object *o;
	int r;

	memset(st, 0, sizeof(*st));
	o = parse_object(text, n, STATE_JSON_MAX, &r);
	if (!o)
		return r;
	r = from_object(o, st);
	if (r < 0) {
		state_free(st);
		memset(st, 0, sizeof(*st));
	}
	json_object_put(o);
	return r;
}

int state_load(const char *path, struct session_state *st)
{
	char *buf = malloc(STATE_JSON_MAX + 1);
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	n = io_read_file(path, buf, STATE_JSON_MAX + 1);
	r = n < 0 ? (int)n : state_from_json(buf, (size_t)n, st);
	free(buf);
	return r;
}

void state_pending_free(struct state_pending *p)
{
	free(p->to_outer);
	free(p->to_inner);
	memset(p, 0, sizeof(*p));
}

static int add_b64(struct json_object *o, const char *key, const uint8_t *data, size_t n)
{
	char *buf;
	int r;

	if (n == 0)
		return 0;
	buf = malloc(B64_ENCODED_LEN(n) + 1);
	if (!buf)
		return -ENOMEM;
	buf[b64_encode(buf, data, n)] = '\0';
	r = jsonadd_str(o, key, buf);
	free(buf);
	return r;
}

int state_handoff_json(const struct session_state *st, const struct state_pending *p, char **out)
{
	struct json_object *o = state_object(st), *pend = json_object_new_object();
	const char *s;
	size_t len;
	int r;

	*out = NULL;
	if (!o || !pend) {
		json_object_put(o);
		json_object_put(pend);
		return -ENOMEM;
	}
	if ((r = jsonadd_value(o, "pending", pend)) < 0 ||
	    (r = add_b64(pend, "carry_o", p->carry_o, p->carry_o_len)) < 0 ||
	    (r = add_b64(pend, "carry_i", p->carry_i, p->carry_i_len)) < 0 ||
	    (r = add_b64(pend, "to_outer", p->to_outer, p->to_outer_len)) < 0 ||
	    (r = add_b64(pend, "to_inner", p->to_inner, p->to_inner_len)) < 0)
		goto out;
	r = -ENOMEM;
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s && len >= STATE_FILE_MAX)
		r = -ENOSPC;
	else if (s && (*out = strdup(s)) != NULL)
		r = (int)len;
out:
	json_object_put(o);
	return r;
}

/* A base64 member of pending into a fixed buffer (buf, cap) or, with
 * heap, a malloc'd one; absent is empty. */
static int get_b64(struct json_object *pend, const char *key, uint8_t *buf, size_t cap, uint8_t **heap, size_t *len)
{
	struct json_object *v;
	const char *s;
	size_t n;
	ssize_t got;
	uint8_t *out = buf;

	*len = 0;
	if (!json_object_object_get_ex(pend, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n % 4 || n / 4 * 3 > cap)
		return -EINVAL;
	if (heap) {
		out = malloc(n / 4 * 3 + 1);
		if (!out)
			return -ENOMEM;
	}
	got = b64_decode(out, s, n);
	if (got < 0) {
		if (heap)
			free(out);
		return -EINVAL;
	}
	if (heap)
		*heap = out;
	*len = (size_t)got;
	return 0;
}

static int pending_from(struct json_object *o, struct state_pending *p)
{
	struct json_object *pend;
	int r;

	if (!json_object_object_get_ex(o, "pending", &pend))
		return 0;
	if (!json_object_is_type(pend, json_type_object))
		return -EINVAL;
	if ((r = get_b64(pend, "carry_o", p->carry_o, 3, NULL, &p->carry_o_len)) < 0 ||
	    (r = get_b64(pend, "carry_i", p->carry_i, 3, NULL, &p->carry_i_len)) < 0 ||
	    (r = get_b64(pend, "to_outer", NULL, STATE_FILE_MAX, &p->to_outer, &p->to_outer_len)) < 0 ||
	    (r = get_b64(pend, "to_inner", NULL, STATE_FILE_MAX, &p->to_inner, &p->to_inner_len)) < 0)
		return r;
	return 0;
}

int state_load_pending(const char *path, struct session_state *st, struct state_pending *p)
{
	char *buf = malloc(STATE_FILE_MAX + 1);
	struct json_object *o = NULL;
	ssize_t n;
	int r;

	memset(st, 0, sizeof(*st));
	memset(p, 0, sizeof(*p));
	if (!buf)
		return -ENOMEM;
	n = io_read_file(path, buf, STATE_FILE_MAX + 1);
	if (n < 0) {
		r = (int)n;
		goto out;
	}
	o = parse_object(buf, (size_t)n, STATE_FILE_MAX, &r);
	if (!o)
		goto out;
	if ((r = from_object(o, st)) == 0)
		r = pending_from(o, p);
	if (r < 0) {
		state_pending_free(p);
		state_free(st);
		memset(st, 0, sizeof(*st));
	}
out:
	json_object_put(o);
	free(buf);
	return r;
}
