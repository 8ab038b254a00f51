/* sessinfo: summaries of sessions from their hdr and end lines.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sessinfo.h"
#include "timearg.h"

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool num_field(struct json_object *o, const char *key, double *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return false;
	*out = json_object_get_double(v);
	return isfinite(*out);
}

static uint64_t u64_field(struct json_object *o, const char *key)
{
	double d;

	return num_field(o, key, &d) && d > 0 && d < 1.8e19 ? (uint64_t)d : 0;
}

static int dup_field(char **dst, struct json_object *o, const char *key)
{
	const char *v = str_field(o, key);

	free(*dst);
	*dst = NULL;
	if (v && !(*dst = strdup(v)))
		return -ENOMEM;
	return 0;
}

int sessinfo_hdr(struct sessinfo *s, struct json_object *line)
{
	struct json_object *hdr = NULL, *meta = NULL;
	const char *start;
	double ts;
	int r;

	json_object_object_get_ex(line, "hdr", &hdr);
	json_object_object_get_ex(line, "meta", &meta);
	s->has_hdr = true;
	start = str_field(meta, "start");
	if (!(start && timearg_rfc3339(start, &s->start) == 0))
		s->start = num_field(hdr, "timestamp", &ts) ? ts : 0;
	s->command = str_field(meta, "cmd") != NULL;
	if ((r = dup_field(&s->user, meta, "user")) < 0 || (r = dup_field(&s->src_ip, meta, "src_ip")) < 0 ||
	    (r = dup_field(&s->service, meta, "service")) < 0 || (r = dup_field(&s->host, meta, "host")) < 0)
		return r;
	return 0;
}

int sessinfo_end(struct sessinfo *s, struct json_object *line)
{
	struct json_object *end = NULL, *v;

	json_object_object_get_ex(line, "end", &end);
	s->has_end = true;
	if (!num_field(end, "duration", &s->duration))
		s->duration = s->last_t;
	s->bytes_out = u64_field(end, "bytes_out");
	s->bytes_in = u64_field(end, "bytes_in");
	if (json_object_object_get_ex(end, "truncated", &v) && json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v))
		s->trunc = true;
	return dup_field(&s->reason, end, "reason");
}

static bool is_(const struct shardread_member *m, const char *obj, size_t olen, const char *key, size_t klen)
{
	return m->depth == 1 && m->key_len == klen && m->obj_len == olen && memcmp(m->key, key, klen) == 0 &&
	       memcmp(m->obj, obj, olen) == 0;
}
#define is(m, obj, key) is_(m, obj, sizeof(obj) - 1, key, sizeof(key) - 1)

/* A string member, unescaped, in a new allocation (freeing *dst). */
static int dup_member(char **dst, const struct shardread_member *m)
{
	char *v = m->type == 's' ? malloc(m->val_len + 1) : NULL;
	ssize_t n;

	free(*dst);
	*dst = NULL;
	if (m->type != 's')
		return 0;
	if (!v)
		return -ENOMEM;
	n = shardread_member_str(m, v, m->val_len);
	v[n < 0 ? 0 : n] = 0;
	*dst = v;
	return 0;
}

int sessinfo_hdr_members(struct sessinfo *s, const struct shardread_member *m, size_t n)
{
	double ts = 0;
	char *start = NULL;
	int r = 0;

	s->has_hdr = true;
	s->command = false;
	for (size_t i = 0; i < n && r == 0; i++, m++) {
		if (is(m, "hdr", "timestamp"))
			ts = m->type == 'n' ? strtod(m->val, NULL) : 0;
		else if (is(m, "meta", "user"))
			r = dup_member(&s->user, m);
		else if (is(m, "meta", "src_ip"))
			r = dup_member(&s->src_ip, m);
		else if (is(m, "meta", "service"))
			r = dup_member(&s->service, m);
		else if (is(m, "meta", "host"))
			r = dup_member(&s->host, m);
		else if (is(m, "meta", "start"))
			r = dup_member(&start, m);
		else if (is(m, "meta", "cmd"))
			s->command = m->type == 's';
	}
	if (!(start && timearg_rfc3339(start, &s->start) == 0))
		s->start = ts;
	free(start);
	return r;
}

int sessinfo_end_members(struct sessinfo *s, const struct shardread_member *m, size_t n)
{
	bool dur = false, trunc = false;
	int r = 0;

	s->has_end = true;
	s->bytes_out = s->bytes_in = 0;
	for (size_t i = 0; i < n && r == 0; i++, m++) {
		double d = m->type == 'n' ? strtod(m->val, NULL) : -1;
		uint64_t u = d > 0 && d < 1.8e19 ? (uint64_t)d : 0;

		if (is(m, "end", "duration"))
			dur = m->type == 'n' && (s->duration = d, true);
		else if (is(m, "end", "bytes_out"))
			s->bytes_out = u;
		else if (is(m, "end", "bytes_in"))
			s->bytes_in = u;
		else if (is(m, "end", "truncated"))
			trunc = m->type == 'b' && m->val[0] == 't';
		else if (is(m, "end", "reason"))
			r = dup_member(&s->reason, m);
	}
	if (!dur)
		s->duration = s->last_t;
	if (trunc)
		s->trunc = true;
	return r;
}

const char *sessinfo_state(const struct sessinfo *s)
{
	if (s->reason && strcmp(s->reason, "unattached") == 0)
		return "unattached";
	if (s->trunc)
		return s->has_end ? "truncated" : "live";
	return s->has_end ? "ended" : "live";
}

void sessinfo_free(struct sessinfo *s)
{
	free(s->user);
	free(s->src_ip);
	free(s->service);
	free(s->host);
	free(s->reason);
	free(s->hdr_line);
	free(s->end_line);
}
