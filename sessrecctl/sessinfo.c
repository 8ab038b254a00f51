/* sessinfo: summaries of sessions from the members of their hdr and end
 * lines (shardscan_take gives them whatever the line's layout: the one
 * reading of those lines). Convention: 0 or -errno. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sessinfo.h"
#include "timearg.h"

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

int sessinfo_hdr(struct sessinfo *s, const struct shardread_member *m, size_t n)
{
	double ts = 0;
	char *start = NULL;
	int r = 0;

	s->has_hdr = true;
	s->command = false;
	for (size_t i = 0; i < n && r == 0; i++, m++) {
		if (is(m, "hdr", "timestamp"))
			ts = m->type == 'n' && isfinite(m->num) ? m->num : 0;
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

int sessinfo_end(struct sessinfo *s, const struct shardread_member *m, size_t n)
{
	bool dur = false, trunc = false;
	int r = 0;

	s->has_end = true;
	s->bytes_out = s->bytes_in = s->withheld_lines = 0;
	for (size_t i = 0; i < n && r == 0; i++, m++) {
		bool num = m->type == 'n' && isfinite(m->num);
		uint64_t u = num && m->num > 0 && m->num < 1.8e19 ? (uint64_t)m->num : 0;

		if (is(m, "end", "duration"))
			dur = num && (s->duration = m->num, true);
		else if (is(m, "end", "bytes_out"))
			s->bytes_out = u;
		else if (is(m, "end", "bytes_in"))
			s->bytes_in = u;
		else if (is(m, "end", "withheld_lines"))
			s->withheld_lines = u;
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
}

void sessinfo_set_sid(struct sessinfo *s, const char *sid, size_t n)
{
	if (n > SHARDREAD_SID_MAX)
		n = SHARDREAD_SID_MAX;
	memcpy(s->sid, sid, n);
	s->sid[n] = '\0';
}
