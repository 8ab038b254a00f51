/* shardread: reading day-shard lines. The fast path knows the writer's exact
 * layout and gives up (-EAGAIN) on anything else, so json-c stays the judge
 * of every unusual line. Convention: 0 or -errno. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "shardlex.h"
#include "shardread.h"
#include "shardx1b.h"

#define PFX "{\"sid\":\""
#define PFX_LEN (sizeof(PFX) - 1)

static bool starts(const char *p, const char *end, const char *lit, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}
#define STARTS(p, end, lit) starts(p, end, lit, sizeof(lit) - 1)

static const uint8_t sid_char[256] = {
	['0' ... '9'] = 1, ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['-'] = 1, ['_'] = 1, ['.'] = 1,
};

bool shardread_sid_valid(const char *s, size_t n)
{
	unsigned ok0 = 1, ok1 = 1, ok2 = 1, ok3 = 1;
	size_t i = 0;

	if (n == 0 || n > SHARDREAD_SID_MAX)
		return false;
	/* four chains of ANDs rather than one: no early exit, few branches */
	for (; i + 4 <= n; i += 4) {
		ok0 &= sid_char[(uint8_t)s[i]];
		ok1 &= sid_char[(uint8_t)s[i + 1]];
		ok2 &= sid_char[(uint8_t)s[i + 2]];
		ok3 &= sid_char[(uint8_t)s[i + 3]];
	}
	for (; i < n; i++)
		ok0 &= sid_char[(uint8_t)s[i]];
	return ok0 & ok1 & ok2 & ok3;
}

/* {"sid":"S"," up to the first key; returns the key's first byte. */
static const char *read_sid(const char *line, const char *end, struct shardread_line *l)
{
	const char *p = line + PFX_LEN, *q;
	size_t room = (size_t)(end - p);

	if (!STARTS(line, end, PFX))
		return NULL;
	if (room > 36 && p[36] == '"') /* a UUID, nearly always */
		q = p + 36;
	else if (!(q = memchr(p, '"', room < SHARDREAD_SID_MAX + 1 ? room : SHARDREAD_SID_MAX + 1)))
		return NULL;
	if (!shardread_sid_valid(p, (size_t)(q - p)))
		return NULL;
	l->sid = p;
	l->sid_len = (size_t)(q - p);
	if (!STARTS(q + 1, end, ",\""))
		return NULL;
	return q + 3;
}

/* "t":N,"ch":"C",["x1b":"␛",]"d":" -> the first byte of d's body; or
 * EXEC/EXIT/ESC/DENY. */
static const char *read_t(const char *p, const char *end, struct shardread_line *l)
{
	const char *n = p;

	p = shardlex_number(p, end, &l->t);
	if (!p)
		return NULL;
	l->t_text = n;
	l->t_text_len = (size_t)(p - n);
	if (STARTS(p, end, ",\"exec\":")) {
		l->kind = SHARDREAD_EXEC;
		return p;
	}
	if (STARTS(p, end, ",\"exit\":")) {
		l->kind = SHARDREAD_EXIT;
		return p;
	}
	if (STARTS(p, end, ",\"esc\":\"")) {
		l->kind = SHARDREAD_ESC;
		return p;
	}
	if (STARTS(p, end, ",\"deny\":")) {
		l->kind = SHARDREAD_DENY;
		return p;
	}
	if (!STARTS(p, end, ",\"ch\":\""))
		return NULL;
	p += 7;
	if (end - p < 8 || (uint8_t)*p < 0x20 || (uint8_t)*p > 0x7e || *p == '"' || *p == '\\')
		return NULL;
	l->ch = *p++;
	if (STARTS(p, end, "\"," SHARDX1B_MEMBER "\"d\":\"")) {
		l->x1b = true;
		p += SHARDX1B_MEMBER_LEN; /* to its own closing '"', before ,"d":" */
	}
	if (!STARTS(p, end, "\",\"d\":\""))
		return NULL;
	l->kind = SHARDREAD_EVENT;
	return p + 7;
}

static void line_reset(struct shardread_line *l)
{
	memset(l, 0, sizeof(*l));
}

int shardread_peek(const char *line, size_t len, struct shardread_line *l)
{
	const char *end = line + len, *p;

	line_reset(l);
	if (len < PFX_LEN + 4 || line[len - 1] != '}')
		return -EAGAIN;
	p = read_sid(line, end, l);
	if (!p)
		return -EAGAIN;
	if (STARTS(p, end, "hdr\":"))
		l->kind = SHARDREAD_HDR;
	else if (STARTS(p, end, "end\":"))
		l->kind = SHARDREAD_END;
	else if ((size_t)(end - p) == 12 && memcmp(p, "trunc\":true}", 12) == 0)
		l->kind = SHARDREAD_TRUNC;
	else if (STARTS(p, end, "t\":") && read_t(p + 3, end, l))
		return 0;
	else
		return -EAGAIN;
	return 0;
}

/* shardread_event, decoding "d" into out (when not NULL) on the way. */
static int read_event(const char *line, size_t len, struct shardread_line *l, uint8_t **out)
{
	const char *end = line + len, *p, *q;
	uint8_t *from = out ? *out : NULL;
	bool utf8;

	line_reset(l);
	if (len < PFX_LEN + 4 || line[len - 1] != '}')
		return -EAGAIN;
	p = read_sid(line, end, l);
	if (!p || !STARTS(p, end, "t\":"))
		return -EAGAIN;
	p = read_t(p + 3, end, l);
	if (!p || l->kind != SHARDREAD_EVENT)
		return -EAGAIN;
	q = out ? shardlex_decode(p, end, &utf8, out) : shardlex_string(p, end, &utf8);
	if (!q)
		return -EAGAIN;
	l->d_json = p;
	l->d_len = (size_t)(q - p);
	l->d_utf8 = utf8;
	if (out && l->x1b)
		*out = from + shardx1b_expand(from, (size_t)(*out - from));
	p = q + 1;
	if (STARTS(p, end, ",\"raw\":\"")) {
		p += 8;
		q = p;
		while (q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
				   *q == '+' || *q == '/' || *q == '='))
			q++;
		if (q >= end || *q != '"')
			return -EAGAIN;
		l->raw = p;
		l->raw_len = (size_t)(q - p);
		p = q + 1;
	}
	if (p + 1 != end) /* only the closing '}' may remain */
		return -EAGAIN;
	return 0;
}

int shardread_event(const char *line, size_t len, struct shardread_line *l)
{
	return read_event(line, len, l, NULL);
}

ssize_t shardread_event_decode(const char *line, size_t len, struct shardread_line *l, uint8_t *out, size_t cap,
			       bool raw)
{
	uint8_t *o = out;
	ssize_t n;
	int r;

	if (cap < SHARDREAD_DECODE_MAX(len))
		return -ENOSPC;
	if ((r = read_event(line, len, l, &o)) < 0)
		return r;
	if (!raw || !l->raw)
		return o - out;
	n = b64_decode(out, l->raw, l->raw_len);
	return n < 0 ? -EBADMSG : n;
}

struct walk {
	struct shardread_member *m;
	size_t n;
	const char *top[8]; /* top-level keys seen, to refuse repeats */
	const char *top_val[8];
	size_t top_len[8], ntop;
};

static const char *walk_object(struct walk *w, const char *p, const char *end, int depth, const char *obj,
			       size_t obj_len);

/* A value at p inside an object at depth (0: the line) named obj, under key.
 * Returns the byte after it, or NULL when the fast path should give up. */
static const char *walk_value(struct walk *w, const char *p, const char *end, int depth, const char *obj,
			      size_t obj_len, const char *key, size_t key_len)
{
	const char *v = p, *q;
	size_t vlen = 0;
	double num = 0;
	bool utf8;
	char type;

	if (p >= end)
		return NULL;
	if (*p == '"') {
		if (!(q = shardlex_string(p + 1, end, &utf8)))
			return NULL;
		v = p + 1;
		vlen = (size_t)(q - v);
		type = 's';
		p = q + 1;
	} else if (*p == '{') {
		if (depth >= 3 || !(p = walk_object(w, p, end, depth + 1, key, key_len)))
			return NULL;
		v = "";
		type = 'o';
	} else if (STARTS(p, end, "true") || STARTS(p, end, "null")) {
		vlen = 4;
		type = *p == 't' ? 'b' : 'z';
		p += 4;
	} else if (STARTS(p, end, "false")) {
		vlen = 5;
		type = 'b';
		p += 5;
	} else {
		if (!(q = shardlex_number(p, end, &num)))
			return NULL;
		vlen = (size_t)(q - p);
		type = 'n';
		p = q;
	}
	if (depth >= 1) {
		if (w->n == SHARDREAD_MEMBERS_MAX)
			return NULL;
		w->m[w->n++] = (struct shardread_member){ .obj = obj,
							  .obj_len = obj_len,
							  .key = key,
							  .key_len = key_len,
							  .val = v,
							  .val_len = vlen,
							  .num = type == 'n' ? num : 0,
							  .type = type,
							  .depth = depth };
	}
	return p;
}

static const char *walk_object(struct walk *w, const char *p, const char *end, int depth, const char *obj,
			       size_t obj_len)
{
	if (p >= end || *p++ != '{')
		return NULL;
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		const char *k, *q;
		bool utf8;

		if (p >= end || *p != '"' || !(q = shardlex_string(p + 1, end, &utf8)))
			return NULL;
		k = p + 1;
		if (memchr(k, '\\', (size_t)(q - k)) || q + 1 >= end || q[1] != ':')
			return NULL;
		if (depth == 0) {
			for (size_t i = 0; i < w->ntop; i++)
				if (w->top_len[i] == (size_t)(q - k) && memcmp(w->top[i], k, w->top_len[i]) == 0)
					return NULL;
			if (w->ntop == 8)
				return NULL;
			w->top[w->ntop] = k;
			w->top_val[w->ntop] = q + 2;
			w->top_len[w->ntop++] = (size_t)(q - k);
		}
		p = walk_value(w, q + 2, end, depth, obj, obj_len, k, (size_t)(q - k));
		if (!p || p >= end)
			return NULL;
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/* The first byte of the value of a top-level key, or NULL. */
static const char *top_value(const struct walk *w, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < w->ntop; i++)
		if (w->top_len[i] == n && memcmp(w->top[i], key, n) == 0)
			return w->top_val[i];
	return NULL;
}

int shardread_members(const char *line, size_t len, struct shardread_line *l, struct shardread_member *m, size_t *n)
{
	const char *end = line + len, *p;
	struct walk w = { .m = m };

	line_reset(l);
	*n = 0;
	if (!read_sid(line, end, l) || walk_object(&w, line, end, 0, "", 0) != end)
		return -EAGAIN;
	if ((p = top_value(&w, "hdr"))) {
		const char *meta = top_value(&w, "meta");

		if (*p != '{' || (meta && *meta != '{'))
			return -EAGAIN;
		l->kind = SHARDREAD_HDR;
	} else if ((p = top_value(&w, "end"))) {
		if (*p != '{')
			return -EAGAIN;
		l->kind = SHARDREAD_END;
	} else {
		return -EAGAIN;
	}
	*n = w.n;
	return 0;
}

static int get_typed(struct json_object *o, const char *key, enum json_type type, struct json_object **out)
{
	if (!json_object_object_get_ex(o, key, out))
		return 0;
	return json_object_is_type(*out, type) ? 1 : -EBADMSG;
}

static int parse_kind(struct json_object *o, struct shardread_line *l)
{
	struct json_object *v;
	int r;

	if ((r = get_typed(o, "hdr", json_type_object, &v)) != 0) {
		if (r < 0 || get_typed(o, "meta", json_type_object, &v) < 0)
			return -EBADMSG;
		l->kind = SHARDREAD_HDR;
		return 0;
	}
	if ((r = get_typed(o, "end", json_type_object, &v)) != 0) {
		l->kind = SHARDREAD_END;
		return r < 0 ? r : 0;
	}
	if ((r = get_typed(o, "trunc", json_type_boolean, &v)) != 0) {
		if (r < 0 || !json_object_get_boolean(v))
			return -EBADMSG;
		l->kind = SHARDREAD_TRUNC;
		return 0;
	}
	if (!json_object_object_get_ex(o, "t", &v)) {
		l->kind = SHARDREAD_OTHER;
		return 0;
	}
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	l->t = json_object_get_double(v);
	if (!isfinite(l->t))
		return -EBADMSG;
	if ((r = get_typed(o, "exec", json_type_object, &v)) != 0) {
		l->kind = SHARDREAD_EXEC;
		return r < 0 ? r : 0;
	}
	if ((r = get_typed(o, "exit", json_type_object, &v)) != 0) {
		l->kind = SHARDREAD_EXIT;
		return r < 0 ? r : 0;
	}
	if ((r = get_typed(o, "esc", json_type_string, &v)) != 0) {
		if (r < 0 || get_typed(o, "more", json_type_boolean, &v) < 0)
			return -EBADMSG;
		l->kind = SHARDREAD_ESC;
		return 0;
	}
	if ((r = get_typed(o, "deny", json_type_object, &v)) != 0) {
		l->kind = SHARDREAD_DENY;
		return r < 0 ? r : 0;
	}
	if ((r = get_typed(o, "ch", json_type_string, &v)) == 0) {
		l->kind = SHARDREAD_OTHER;
		return 0;
	}
	if (r < 0 || json_object_get_string_len(v) != 1)
		return -EBADMSG;
	l->ch = json_object_get_string(v)[0];
	if (get_typed(o, "d", json_type_string, &v) != 1)
		return -EBADMSG;
	l->d = json_object_get_string(v);
	l->d_len = (size_t)json_object_get_string_len(v);
	/* The stand-in is U+241B or nothing: a line naming another one is
	 * not the writer's and could not be read back as it meant. */
	if ((r = get_typed(o, "x1b", json_type_string, &v)) < 0 ||
	    (r && (json_object_get_string_len(v) != SHARDX1B_CHAR_LEN ||
		   memcmp(json_object_get_string(v), SHARDX1B_CHAR, SHARDX1B_CHAR_LEN) != 0)))
		return -EBADMSG;
	l->x1b = r == 1;
	if ((r = get_typed(o, "raw", json_type_string, &v)) < 0)
		return -EBADMSG;
	if (r) {
		l->raw = json_object_get_string(v);
		l->raw_len = (size_t)json_object_get_string_len(v);
	}
	l->kind = SHARDREAD_EVENT;
	return 0;
}

int shardread_parse(const char *line, size_t len, struct shardread_line *l)
{
	struct json_tokener *tok;
	struct json_object *o = NULL, *sid;
	int r = -EBADMSG;

	line_reset(l);
	if (len > SHARDREAD_LINE_MAX)
		return -EBADMSG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))
		goto out;
	if (get_typed(o, "sid", json_type_string, &sid) != 1)
		goto out;
	l->sid = json_object_get_string(sid);
	l->sid_len = (size_t)json_object_get_string_len(sid);
	if (!shardread_sid_valid(l->sid, l->sid_len))
		goto out;
	r = parse_kind(o, l);
out:
	json_tokener_free(tok);
	if (r < 0) {
		json_object_put(o);
		line_reset(l);
		return r;
	}
	l->obj = o;
	return 0;
}

void shardread_release(struct shardread_line *l)
{
	json_object_put(l->obj);
	l->obj = NULL;
}

ssize_t shardread_text(const struct shardread_line *l, uint8_t *out, size_t cap)
{
	ssize_t n;

	if (l->kind != SHARDREAD_EVENT || cap < l->d_len)
		return l->kind != SHARDREAD_EVENT ? -EINVAL : -ENOSPC;
	if (l->d_json) {
		n = shardlex_unescape(l->d_json, l->d_len, out);
	} else {
		memcpy(out, l->d, l->d_len);
		n = (ssize_t)l->d_len;
	}
	if (n > 0 && l->x1b)
		n = (ssize_t)shardx1b_expand(out, (size_t)n);
	return n;
}

ssize_t shardread_bytes(const struct shardread_line *l, uint8_t *out, size_t cap)
{
	ssize_t n;

	if (!l->raw)
		return shardread_text(l, out, cap);
	if (cap < l->raw_len / 4 * 3 + 3)
		return -ENOSPC;
	n = b64_decode(out, l->raw, l->raw_len);
	return n < 0 ? -EBADMSG : n;
}

ssize_t shardread_member_str(const struct shardread_member *m, char *out, size_t cap)
{
	if (m->type != 's' || cap < m->val_len)
		return -EBADMSG;
	if (m->plain) {
		memcpy(out, m->val, m->val_len);
		return (ssize_t)m->val_len;
	}
	return shardlex_unescape(m->val, m->val_len, (uint8_t *)out);
}

/* The members of o (under key obj) at depth, and of its objects below. */
static void obj_members(struct json_object *o, const char *obj, int depth, struct shardread_member *m, size_t cap,
			size_t *n)
{
	json_object_object_foreach(o, k, v) {
		struct shardread_member x = { .obj = obj,
					      .obj_len = strlen(obj),
					      .key = k,
					      .key_len = strlen(k),
					      .val = "",
					      .plain = true,
					      .depth = depth };

		switch (json_object_get_type(v)) {
		case json_type_string:
			x.type = 's';
			x.val = json_object_get_string(v);
			x.val_len = (size_t)json_object_get_string_len(v);
			break;
		case json_type_int:
		case json_type_double:
			x.type = 'n';
			x.val = json_object_get_string(v);
			x.val_len = strlen(x.val);
			x.num = json_object_get_double(v);
			break;
		case json_type_boolean:
			x.type = 'b';
			x.val = json_object_get_boolean(v) ? "true" : "false";
			x.val_len = strlen(x.val);
			break;
		case json_type_null:
			x.type = 'z';
			x.val = "null";
			x.val_len = 4;
			break;
		case json_type_object:
			x.type = 'o';
			break;
		default:
			x.type = 'a';
			break;
		}
		if (*n < cap)
			m[*n] = x;
		(*n)++;
		if (x.type == 'o' && depth < 2)
			obj_members(v, k, depth + 1, m, cap, n);
	}
}

int shardread_obj_members(struct json_object *line, struct shardread_member *m, size_t cap, size_t *n)
{
	*n = 0;
	json_object_object_foreach(line, k, v) {
		if (json_object_is_type(v, json_type_object))
			obj_members(v, k, 1, m, cap, n);
	}
	return *n > cap ? -ENOSPC : 0;
}

ssize_t shardread_escrow(const struct shardread_line *l, uint8_t *out, size_t cap, bool *more)
{
	struct json_object *v;
	const char *b64;
	size_t n;
	ssize_t k;

	*more = false;
	if (l->kind != SHARDREAD_ESC || !l->obj || get_typed(l->obj, "esc", json_type_string, &v) != 1)
		return -EBADMSG;
	b64 = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n % 4 || n / 4 * 3 - (n && b64[n - 1] == '=') - (n > 1 && b64[n - 2] == '=') > cap)
		return -EBADMSG;
	k = b64_decode(out, b64, n);
	if (k < 0)
		return -EBADMSG;
	if (get_typed(l->obj, "more", json_type_boolean, &v) == 1)
		*more = json_object_get_boolean(v);
	return k;
}
