/* rfc5424: formats one RFC 5424 syslog line from untrusted strings, so that
 * every line parses: header fields sanitised, SD-PARAM values escaped (§6.3.3),
 * never longer than the caller's buffer. Convention: length or -errno. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rfc5424.h"
#include "utf8.h"

/* RFC 5424 §6 field limits. */
#define HOSTNAME_MAX 255
#define APPNAME_MAX 48
#define PROCID_MAX 128
#define MSGID_MAX 32
#define SDNAME_MAX 32

struct line {
	char *buf;
	size_t cap; /* room for len + NUL */
	size_t len;
};

static size_t room(const struct line *l)
{
	return l->cap - 1 - l->len;
}

/* Appends n bytes if they fit entirely; false otherwise. */
static bool put(struct line *l, const char *s, size_t n)
{
	if (n > room(l))
		return false;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
	return true;
}

static bool puts_(struct line *l, const char *s)
{
	return put(l, s, strlen(s));
}

/* A header field: PRINTUSASCII only, clipped, NILVALUE when empty. */
static bool put_field(struct line *l, const char *s, size_t max)
{
	char tmp[HOSTNAME_MAX];
	size_t n = 0;

	if (!s || !*s)
		return put(l, "-", 1);
	for (; n < max && n < sizeof(tmp) && s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		tmp[n] = c >= 33 && c <= 126 ? (char)c : '_';
	}
	return put(l, tmp, n);
}

static bool sd_name_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= SDNAME_MAX || c < 33 || c > 126 || c == '=' || c == ']' || c == '"')
			return false;
	}
	return n > 0;
}

/* The single walk over untrusted text shared by SD values and MSG: valid
 * UTF-8 passes, invalid bytes become U+FFFD, control characters are dropped
 * (sd) or become spaces (msg), and the SD specials get their backslash. A
 * character or escape pair is never split. Writes at most cap-1 bytes plus
 * NUL when dst is non-NULL; returns the full length the text needs when
 * dst is NULL. */
static size_t sanitize(char *dst, size_t cap, const char *src, bool sd)
{
	const uint8_t *p = (const uint8_t *)src;
	size_t left = strlen(src), o = 0;

	while (left > 0) {
		const char *piece;
		char ascii[2];
		size_t n, used;
		int k;

		if (p[0] < 0x80) {
			used = 1;
			if (p[0] < 0x20 || p[0] == 0x7f) {
				if (sd) {
					p++, left--;
					continue;
				}
				ascii[0] = ' ';
				n = 1;
			} else if (sd && (p[0] == '\\' || p[0] == '"' || p[0] == ']')) {
				ascii[0] = '\\';
				ascii[1] = (char)p[0];
				n = 2;
			} else {
				ascii[0] = (char)p[0];
				n = 1;
			}
			piece = ascii;
		} else {
			k = utf8_seq(p, left);
			if (k > 0) {
				piece = (const char *)p;
				n = used = (size_t)k;
			} else {
				piece = UTF8_REPLACEMENT;
				n = UTF8_REPLACEMENT_LEN;
				used = k < 0 ? (size_t)-k : left; /* k == 0: cut-off tail */
			}
		}
		if (dst) {
			if (o + n + 1 > cap)
				break;
			memcpy(dst + o, piece, n);
		}
		o += n;
		p += used;
		left -= used;
	}
	if (dst && cap > 0)
		dst[o] = '\0';
	return o;
}

size_t rfc5424_escape(char *dst, size_t cap, const char *src)
{
	if (!dst || cap == 0)
		return 0;
	return sanitize(dst, cap, src ? src : "", true);
}

static bool put_timestamp(struct line *l, const struct timespec *ts)
{
	struct timespec now;
	struct tm tm;
	char tmp[40];
	int n;

	if (!ts) {
		clock_gettime(CLOCK_REALTIME, &now);
		ts = &now;
	}
	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L || !gmtime_r(&ts->tv_sec, &tm) || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999)
		return put(l, "-", 1);
	n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts->tv_nsec / 1000));
	return n > 0 && (size_t)n < sizeof(tmp) && put(l, tmp, (size_t)n);
}

/* One ' name="value"' whole, or nothing (keeping room for the closing ']'). */
static void put_param(struct line *l, const struct rfc5424_param *p)
{
	size_t need, vlen;

	if (!sd_name_valid(p->name) || !p->value)
		return;
	vlen = sanitize(NULL, 0, p->value, true);
	need = 1 + strlen(p->name) + 2 + vlen + 1;
	if (need + 1 > room(l))
		return;
	puts_(l, " ");
	puts_(l, p->name);
	puts_(l, "=\"");
	l->len += sanitize(l->buf + l->len, room(l) + 1, p->value, true);
	puts_(l, "\"");
}

int rfc5424_format(char *buf, size_t cap, int pri, const struct timespec *ts, const char *host, const char *app,
		   const char *procid, const char *msgid, const char *sdid, const struct rfc5424_param *params,
		   size_t nparams, const char *msg)
{
	struct line l = { .buf = buf, .cap = cap, .len = 0 };
	char prefix[16];
	bool ok, sd = sd_name_valid(sdid);

	if (pri < 0 || pri > 191)
		return -EINVAL;
	if (!buf || cap < 2)
		return -ENOSPC;
	buf[0] = '\0';
	snprintf(prefix, sizeof(prefix), "<%d>1 ", pri);
	ok = puts_(&l, prefix) && put_timestamp(&l, ts) && put(&l, " ", 1) && put_field(&l, host, HOSTNAME_MAX) &&
	     put(&l, " ", 1) && put_field(&l, app, APPNAME_MAX) && put(&l, " ", 1) &&
	     put_field(&l, procid, PROCID_MAX) && put(&l, " ", 1) && put_field(&l, msgid, MSGID_MAX) && put(&l, " ", 1);
	/* The SD skeleton belongs to the part that must fit. */
	if (!ok || room(&l) < (sd ? strlen(sdid) + 2 : 1)) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	if (sd) {
		puts_(&l, "[");
		puts_(&l, sdid);
		for (size_t i = 0; params && i < nparams; i++)
			put_param(&l, &params[i]);
		puts_(&l, "]");
	} else {
		puts_(&l, "-");
	}
	/* MSG is clipped (at a character boundary) rather than dropped. */
	if (msg && *msg && room(&l) >= 2) {
		size_t n;

		puts_(&l, " ");
		n = sanitize(l.buf + l.len, room(&l) + 1, msg, false);
		if (n == 0)
			buf[--l.len] = '\0';
		l.len += n;
	}
	return (int)l.len;
}
