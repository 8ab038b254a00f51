/* shardfmt: the day-shard lines other than output/input events (header,
 * resize, marker, trunc, end) and the shard's path and times. Rare, so built
 * with a bounded writer, in two passes so untrusted strings share the line's
 * room fairly (format_clipped); text goes through shard_json_escape.
 * Convention: a length on success, -errno on failure; never logs. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "shardline.h"

#define LINE_LAST (SHARD_LINE_MAX - 1) /* longest line, its newline included */

struct w {
	char *buf;
	size_t cap, len;
	bool over;
};

static void w_put(struct w *w, const char *s, size_t n)
{
	if (n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void w_lit(struct w *w, const char *s)
{
	w_put(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void w_fmt(struct w *w, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(tmp))
		w->over = true;
	else
		w_put(w, tmp, (size_t)r);
}

static void w_t(struct w *w, double t)
{
	char tmp[SHARD_T_MAX];

	w_put(w, tmp, shard_format_t(tmp, t));
}

/* A JSON string whose body is clipped to lim bytes. */
static void w_strn(struct w *w, const char *s, size_t n, size_t lim)
{
	size_t room;

	w_put(w, "\"", 1);
	room = w->cap - w->len;
	if (room == 0) {
		w->over = true;
		return;
	}
	w->len += shard_json_escape(w->buf + w->len, lim < room - 1 ? lim : room - 1, (const uint8_t *)s, n, NULL);
	w_put(w, "\"", 1);
}

static void w_sid(struct w *w, const char *sid)
{
	w_lit(w, "{\"sid\":");
	w_strn(w, sid, strnlen(sid, SHARD_SID_LEN), SIZE_MAX);
}

/* ,"key": -- or "key": for the first member of an object. */
static void w_key(struct w *w, bool *first, const char *key)
{
	if (!*first)
		w_put(w, ",", 1);
	*first = false;
	w_put(w, "\"", 1);
	w_lit(w, key);
	w_put(w, "\":", 2);
}

#define CLIP_MAX 16 /* most strings in one line */

/* Builds the line with the strings s[i] (NULL: absent) clipped to lim[i]. */
typedef void (*build_fn)(struct w *w, const char *sid, const void *arg, const char *const *s, const size_t *lim);

/* Builds the line once with every string empty to learn the fixed part, then
 * gives the rest of the line to the strings, clipping only the longest ones
 * (all to one common length), so a 10 KB user name cannot push out the tty. */
static int format_clipped(char *buf, size_t cap, build_fn build, const char *sid, const void *arg, const char *const *s,
			  size_t ns)
{
	char line[SHARD_LINE_MAX], scratch[LINE_LAST];
	size_t full[CLIP_MAX], lim[CLIP_MAX] = { 0 }, sum = 0, avail, lo, hi;
	struct w w = { .buf = line, .cap = LINE_LAST - 1 }; /* room kept for '\n' */

	for (size_t i = 0; i < ns; i++) {
		full[i] = s[i] ? shard_json_escape(scratch, sizeof(scratch), (const uint8_t *)s[i], strlen(s[i]), NULL)
			       : 0;
		sum += full[i];
	}
	build(&w, sid, arg, s, lim);
	if (w.over)
		return -ENOSPC;
	avail = w.cap - w.len;
	lo = sum <= avail ? SIZE_MAX : 0;
	for (hi = avail; lo < hi;) { /* the largest common clip that fits */
		size_t mid = lo + (hi - lo + 1) / 2, tot = 0;

		for (size_t i = 0; i < ns; i++)
			tot += full[i] < mid ? full[i] : mid;
		if (tot <= avail)
			lo = mid;
		else
			hi = mid - 1;
	}
	for (size_t i = 0; i < ns; i++)
		lim[i] = full[i] < lo ? full[i] : lo;
	w.len = 0;
	build(&w, sid, arg, s, lim);
	if (w.over)
		return -ENOSPC;
	line[w.len++] = '\n';
	if (w.len > cap)
		return -ENOSPC;
	memcpy(buf, line, w.len);
	if (w.len < cap)
		buf[w.len] = '\0';
	return (int)w.len;
}

enum { H_SHELL, H_TERM, H_USER, H_SERVICE, H_PROTO, H_SRC_IP, H_TTY, H_HOST, H_AUTH, H_START, H_CMD, H_NSTR };

static void header_build(struct w *w, const char *sid, const void *arg, const char *const *s, const size_t *lim)
{
	/* clang-format off */
	static const char *const meta_key[H_NSTR] = {
		[H_USER] = "user", [H_SERVICE] = "service", [H_PROTO] = "proto",
		[H_SRC_IP] = "src_ip", [H_TTY] = "tty", [H_HOST] = "host", [H_AUTH] = "auth",
		[H_START] = "start", [H_CMD] = "cmd",
	};
	/* clang-format on */
	const struct shard_header *h = arg;
	const struct shard_meta *m = &h->meta;
	bool first = true;

	w_sid(w, sid);
	w_fmt(w, ",\"hdr\":{\"version\":2,\"width\":%u,\"height\":%u,\"timestamp\":%lld,\"env\":{\"SHELL\":", h->width,
	      h->height, (long long)h->timestamp);
	w_strn(w, s[H_SHELL], strlen(s[H_SHELL]), lim[H_SHELL]);
	w_lit(w, ",\"TERM\":");
	w_strn(w, s[H_TERM], strlen(s[H_TERM]), lim[H_TERM]);
	w_lit(w, "}},\"meta\":{");
	for (int i = H_USER; i < H_NSTR; i++) {
		/* meta order: user uid service proto src_ip src_port tty ... */
		if (s[i]) {
			w_key(w, &first, meta_key[i]);
			w_strn(w, s[i], strlen(s[i]), lim[i]);
		}
		if (i == H_USER && m->uid >= 0) {
			w_key(w, &first, "uid");
			w_fmt(w, "%ld", m->uid);
		}
		if (i == H_SRC_IP && m->src_port > 0) {
			w_key(w, &first, "src_port");
			w_fmt(w, "%d", m->src_port);
		}
	}
	if (m->pid > 0) {
		w_key(w, &first, "pid");
		w_fmt(w, "%ld", m->pid);
	}
	/* The kernel shows an unset audit session as (u32)-1. */
	if (m->audit_session >= 0 && m->audit_session != 4294967295L) {
		w_key(w, &first, "audit_session");
		w_fmt(w, "%ld", m->audit_session);
	}
	w_key(w, &first, "input");
	w_lit(w, m->input ? "true}}" : "false}}");
}

int shard_format_header(char *buf, size_t cap, const char *sid, const struct shard_header *h)
{
	const struct shard_meta *m = &h->meta;
	/* clang-format off */
	const char *s[H_NSTR] = {
		[H_SHELL] = h->shell ? h->shell : "/bin/sh", [H_TERM] = h->term ? h->term : "dumb",
		[H_USER] = m->user, [H_SERVICE] = m->service, [H_PROTO] = m->proto,
		[H_SRC_IP] = m->src_ip, [H_TTY] = m->tty, [H_HOST] = m->host, [H_AUTH] = m->auth,
		[H_START] = m->start, [H_CMD] = m->cmd,
	};
	/* clang-format on */

	return format_clipped(buf, cap, header_build, sid, h, s, H_NSTR);
}

struct tline {
	double t;
	char ch;
	const char *d; /* when not a string of s */
};

/* {"sid":S,"t":T,"ch":"C","d":"..."} for resize and marker lines. */
static void tline_build(struct w *w, const char *sid, const void *arg, const char *const *s, const size_t *lim)
{
	const struct tline *l = arg;

	w_sid(w, sid);
	w_lit(w, ",\"t\":");
	w_t(w, l->t);
	w_fmt(w, ",\"ch\":\"%c\",\"d\":", l->ch);
	if (l->d)
		w_strn(w, l->d, strlen(l->d), SIZE_MAX);
	else
		w_strn(w, s[0], strlen(s[0]), lim[0]);
	w_put(w, "}", 1);
}

int shard_format_resize(char *buf, size_t cap, const char *sid, double t, unsigned cols, unsigned rows)
{
	char d[32];
	struct tline l = { .t = t, .ch = 'r', .d = d };

	snprintf(d, sizeof(d), "%ux%u", cols, rows);
	return format_clipped(buf, cap, tline_build, sid, &l, NULL, 0);
}

int shard_format_marker(char *buf, size_t cap, const char *sid, double t, const char *text)
{
	struct tline l = { .t = t, .ch = 'm' };
	const char *s[1] = { text ? text : "" };

	return format_clipped(buf, cap, tline_build, sid, &l, s, 1);
}

static void trunc_build(struct w *w, const char *sid, const void *arg, const char *const *s, const size_t *lim)
{
	w_sid(w, sid);
	w_lit(w, ",\"trunc\":true}");
}

int shard_format_trunc(char *buf, size_t cap, const char *sid)
{
	return format_clipped(buf, cap, trunc_build, sid, NULL, NULL, 0);
}

struct escline {
	double t;
	const uint8_t *sealed;
	size_t n;
	bool more;
};

/* {"sid":S,"t":T,"esc":"BASE64"[,"more":true]}: nothing to clip. */
static void esc_build(struct w *w, const char *sid, const void *arg, const char *const *s, const size_t *lim)
{
	const struct escline *l = arg;
	char b64[B64_ENCODED_LEN(SHARD_ESCROW_SEALED_MAX)];

	w_sid(w, sid);
	w_lit(w, ",\"t\":");
	w_t(w, l->t);
	w_lit(w, ",\"esc\":\"");
	w_put(w, b64, b64_encode(b64, l->sealed, l->n));
	w_lit(w, l->more ? "\",\"more\":true}" : "\"}");
}

int shard_format_escrow(char *buf, size_t cap, const char *sid, double t, const uint8_t *sealed, size_t n, bool more)
{
	struct escline l = { .t = t, .sealed = sealed, .n = n, .more = more };

	if (n > SHARD_ESCROW_SEALED_MAX)
		return -ENOSPC;
	return format_clipped(buf, cap, esc_build, sid, &l, NULL, 0);
}

static void end_build(struct w *w, const char *sid, const void *arg, const char *const *s, const size_t *lim)
{
	static const char *const key[2] = { "reason", "end" };
	const struct shard_end *e = arg;

	w_sid(w, sid);
	w_lit(w, ",\"end\":{\"duration\":");
	w_t(w, e->duration);
	w_fmt(w, ",\"bytes_out\":%llu,\"bytes_in\":%llu,\"bytes_recorded\":%llu", (unsigned long long)e->bytes_out,
	      (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_recorded);
	w_fmt(w, ",\"withheld\":%llu,\"withheld_lines\":%llu", (unsigned long long)e->withheld,
	      (unsigned long long)e->withheld_lines);
	w_fmt(w, ",\"resizes\":%u,\"truncated\":%s", e->resizes, e->truncated ? "true" : "false");
	if (e->lost_bytes)
		w_fmt(w, ",\"lost_bytes\":%llu,\"lost_output\":%llu,\"lost_input\":%llu",
		      (unsigned long long)e->lost_bytes, (unsigned long long)e->lost_output,
		      (unsigned long long)e->lost_input);
	if (e->removed_bytes)
		w_fmt(w, ",\"removed_bytes\":%llu", (unsigned long long)e->removed_bytes);
	if (e->write_error)
		w_fmt(w, ",\"write_error\":\"%s\"", e->write_error);
	if (e->lost_at_least)
		w_fmt(w, ",\"lost_at_least\":true");
	for (int i = 0; i < 2; i++) {
		if (s[i]) {
			w_fmt(w, ",\"%s\":", key[i]);
			w_strn(w, s[i], strlen(s[i]), lim[i]);
		}
	}
	w_lit(w, "}}");
}

int shard_format_end(char *buf, size_t cap, const char *sid, const struct shard_end *e)
{
	const char *s[2] = { e->reason, e->end };

	return format_clipped(buf, cap, end_build, sid, e, s, 2);
}

int shard_path(char *buf, size_t cap, const char *dir, int64_t ts)
{
	time_t tt = (time_t)ts;
	struct tm tm;
	int r;

	if (!gmtime_r(&tt, &tm))
		return -EINVAL;
	r = snprintf(buf, cap, "%s/sessions-%04d-%02d-%02d.jsonl", dir, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (r < 0 || (size_t)r >= cap)
		return -ENAMETOOLONG;
	return r;
}

int shard_rfc3339(char *buf, size_t cap, int64_t sec, long usec)
{
	time_t tt;
	struct tm tm;
	int r;

	sec += usec / 1000000;
	usec %= 1000000;
	if (usec < 0) {
		usec += 1000000;
		sec--;
	}
	tt = (time_t)sec;
	if (!gmtime_r(&tt, &tm))
		return -EINVAL;
	r = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	if (r < 0 || (size_t)r >= cap)
		return -ENOSPC;
	return r;
}
