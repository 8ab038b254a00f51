/* session: summaries of sessions from their hdr and end lines, the filters
 * of list and grep, and the time syntax of --since / --until.
 * Convention: 0 or -errno for parsers, exit statuses for option handling. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"

/* A point in time as users write it: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]"
 * (local time), RFC 3339, "@UNIX", "now", "today", "yesterday", or an age
 * ("90s", "30m", "2h", "3d", "1w"). 0 or -EINVAL. */
static int parse_when(const char *s, double *out);
/* RFC 3339 only. 0 or -EINVAL. */
static int parse_rfc3339(const char *s, double *out);

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
	if (!(start && parse_rfc3339(start, &s->start) == 0))
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
	if (!(start && parse_rfc3339(start, &s->start) == 0))
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

int filter_opt(struct ctl *ctl, struct filter *f, const char *cmd, int c, const char *arg)
{
	switch (c) {
	case FILTER_OPT_USER:
		f->user = arg;
		return 0;
	case FILTER_OPT_HOST:
		f->host = arg;
		return 0;
	case FILTER_OPT_SRC:
		f->src = arg;
		return 0;
	case FILTER_OPT_SINCE:
	case FILTER_OPT_UNTIL:
		if (parse_when(arg, c == FILTER_OPT_SINCE ? &f->since : &f->until) < 0)
			return ctl_usage_err(cmd, "cannot read '%s' as a time (YYYY-MM-DD [HH:MM[:SS]], "
					     "RFC 3339, or an age like 2h, 3d)", arg);
		*(c == FILTER_OPT_SINCE ? &f->has_since : &f->has_until) = true;
		return 0;
	case CTL_OPT_DIR:
	case CTL_OPT_CONFIG:
	case CTL_OPT_SOCKET:
		return ctl_common_opt(ctl, c, arg);
	default:
		return -1;
	}
}

bool filter_active(const struct filter *f)
{
	return f->user || f->host || f->src || f->has_since || f->has_until;
}

bool filter_day(const struct filter *f, int64_t day)
{
	if (f->has_since && (double)day + 86400 <= f->since)
		return false;
	if (f->has_until && (double)day > f->until)
		return false;
	return true;
}

/* "10.0.0.0/8" or "2001:db8::/32" against an address. */
static bool cidr_match(const char *cidr, const char *ip)
{
	unsigned char net[16], addr[16];
	char buf[64];
	const char *slash = strchr(cidr, '/');
	int af, bits = 0, len, k;

	if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
		return false;
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = 0;
	af = strchr(buf, ':') ? AF_INET6 : AF_INET;
	len = af == AF_INET6 ? 16 : 4;
	/* Digits only: a prefix length of "" or "x" must match nothing, not
	 * read as 0 and match every address. */
	for (k = 0; k < 3 && slash[1 + k] >= '0' && slash[1 + k] <= '9'; k++)
		bits = bits * 10 + (slash[1 + k] - '0');
	if (k == 0 || slash[1 + k] || bits > len * 8 || inet_pton(af, buf, net) != 1 || inet_pton(af, ip, addr) != 1)
		return false;
	for (int i = 0; i < len; i++, bits -= 8) {
		unsigned mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff00u >> bits) & 0xff;

		if ((net[i] & mask) != (addr[i] & mask))
			return false;
	}
	return true;
}

bool filter_match(const struct filter *f, const struct sessinfo *s)
{
	if (f->user && !(s->user && strcmp(f->user, s->user) == 0))
		return false;
	if (f->host && !(s->host && strcmp(f->host, s->host) == 0))
		return false;
	if (f->src && !(s->src_ip && (strcmp(f->src, s->src_ip) == 0 || cidr_match(f->src, s->src_ip))))
		return false;
	if (f->has_since && !(s->start > 0 && s->start >= f->since))
		return false;
	if (f->has_until && !(s->start > 0 && s->start <= f->until))
		return false;
	return true;
}

/* n digits at p as a number, or -1. */
static int digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* [.fraction] -> seconds; returns the end. */
static const char *fraction(const char *p, double *frac)
{
	double scale = 0.1;

	*frac = 0;
	if (*p != '.')
		return p;
	for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
		*frac += (*p - '0') * scale;
	return p;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][Z|±HH:MM]; *zoned tells whether a zone
 * was given (else the time is local). */
static int parse_datetime(const char *s, double *out, bool need_zone)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, zh, zm;
	double frac = 0;
	const char *p;
	time_t base;

	if (strnlen(s, 10) < 10 || (y = digits(s, 4)) < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 0 ||
	    s[7] != '-' || (d = digits(s + 8, 2)) < 0)
		return -EINVAL;
	p = s + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (strnlen(p, 6) < 6 || (h = digits(p + 1, 2)) < 0 || p[3] != ':' || (mi = digits(p + 4, 2)) < 0)
			return -EINVAL;
		p += 6;
		if (*p == ':') {
			if ((sec = digits(p + 1, 2)) < 0)
				return -EINVAL;
			p = fraction(p + 3, &frac);
		}
	} else if (need_zone) {
		return -EINVAL;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (*p == 'Z' || *p == 'z') {
		base = timegm(&tm);
		p++;
	} else if ((*p == '+' || *p == '-') && strnlen(p, 6) == 6 && (zh = digits(p + 1, 2)) >= 0 && p[3] == ':' &&
		   (zm = digits(p + 4, 2)) >= 0) {
		base = timegm(&tm) - (*p == '+' ? 1 : -1) * (zh * 3600 + zm * 60);
		p += 6;
	} else if (!need_zone) {
		tm.tm_isdst = -1;
		base = mktime(&tm);
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*out = (double)base + frac;
	return 0;
}

static int parse_rfc3339(const char *s, double *out)
{
	return parse_datetime(s, out, true);
}

static int parse_when(const char *s, double *out)
{
	time_t now = time(NULL);
	struct tm tm;
	char unit = 0, *end;
	double n;

	if (strcmp(s, "now") == 0) {
		*out = (double)now;
		return 0;
	}
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		localtime_r(&now, &tm);
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_mday -= s[0] == 'y';
		tm.tm_isdst = -1;
		*out = (double)mktime(&tm);
		return 0;
	}
	if (s[0] == '@') {
		n = strtod(s + 1, &end);
		if (end == s + 1 || *end || !isfinite(n))
			return -EINVAL;
		*out = n;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9' && parse_datetime(s, out, false) == 0)
		return 0;
	n = strtod(s, &end);
	if (end == s || !isfinite(n) || n < 0 || s[0] == '-' || s[0] == '+')
		return -EINVAL;
	unit = *end;
	if (unit && end[1] && strcmp(end + 1, " ago") != 0)
		return -EINVAL;
	switch (unit) {
	case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	case 'w': n *= 7 * 86400; break;
	default: return -EINVAL;
	}
	*out = (double)now - n;
	return 0;
}
