/* out: buffered output and the display formats of sessrecctl. Recorded
 * strings reach the operator's terminal only through out_safe (text) or
 * out_json (JSON).
 * Convention: 0 or -errno. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "out.h"
#include "utf8.h"

int out_init(struct out *o, int fd, size_t cap)
{
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->cap = cap;
	o->buf = malloc(cap);
	return o->buf ? 0 : -ENOMEM;
}

int out_flush(struct out *o)
{
	if (o->len && !o->err) {
		int r = io_write_full(o->fd, o->buf, o->len);

		if (r < 0)
			o->err = r;
	}
	o->len = 0;
	return o->err;
}

void out_write(struct out *o, const void *p, size_t n)
{
	if (o->err)
		return;
	if (o->len + n > o->cap) {
		out_flush(o);
		if (n > o->cap) {
			int r = io_write_full(o->fd, p, n);

			if (r < 0)
				o->err = r;
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void out_str(struct out *o, const char *s)
{
	out_write(o, s, strlen(s));
}

void out_printf(struct out *o, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		out_write(o, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n >= 0)
		out_write(o, big, (size_t)n);
	free(big);
}

/* Returns the number of columns written (one per character). */
static int safe(struct out *o, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	int cols = 0;
	char hex[5];

	while (i < n) {
		int k = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);
		bool ctl = k == 1 ? (p[i] < 0x20 || p[i] == 0x7f) : k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0;

		if (k <= 0 || ctl) {
			snprintf(hex, sizeof(hex), "\\x%02x", p[i]);
			out_write(o, hex, 4);
			cols += 4;
			i++;
			continue;
		}
		out_write(o, p + i, (size_t)k);
		cols++;
		i += (size_t)k;
	}
	return cols;
}

void out_safe(struct out *o, const char *s, size_t n)
{
	if (!s)
		out_write(o, "-", 1);
	else
		safe(o, s, n);
}

void out_safe_str(struct out *o, const char *s)
{
	out_safe(o, s, s ? strlen(s) : 0);
}

void out_safe_pad(struct out *o, const char *s, int width)
{
	int cols = s && *s ? safe(o, s, strlen(s)) : (out_write(o, "-", 1), 1);

	for (; cols < width; cols++)
		out_write(o, " ", 1);
}

void out_json(struct out *o, const char *txt, size_t n)
{
	const uint8_t *p = (const uint8_t *)txt;
	size_t i = 0, run = 0;
	char esc[8];

	while (i < n) {
		int k = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);
		/* a raw C0 byte is json-c's to escape, but never gets through */
		bool ctl = k == 1 ? p[i] < 0x20 || p[i] == 0x7f : k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0;

		if (k > 0 && !ctl) {
			i += (size_t)k;
			continue;
		}
		out_write(o, p + run, i - run);
		if (ctl) {
			snprintf(esc, sizeof(esc), "\\u%04x", k == 1 ? p[i] : p[i + 1]);
			out_write(o, esc, 6);
		} else {
			out_write(o, "\\ufffd", 6);
		}
		i += k > 0 ? (size_t)k : k < 0 ? (size_t)-k : n - i;
		run = i;
	}
	out_write(o, p + run, n - run);
}

int out_close(struct out *o)
{
	int r = out_flush(o);

	free(o->buf);
	o->buf = NULL;
	return r;
}

/* floor() without libm: whole seconds at or before ts */
static time_t whole(double ts)
{
	time_t t = (time_t)ts;

	return (double)t > ts ? t - 1 : t;
}

void out_fmt_time_local(char *buf, size_t cap, double ts)
{
	time_t t = whole(ts);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, cap, "-");
}

void out_fmt_time_utc(char *buf, size_t cap, double ts)
{
	time_t t = whole(ts);
	long us = (long)((ts - (double)t) * 1e6 + 0.5);
	struct tm tm;
	size_t n;

	if (us >= 1000000) {
		t++;
		us -= 1000000;
	}
	if (!gmtime_r(&t, &tm) || !(n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(buf, cap, "-");
		return;
	}
	snprintf(buf + n, cap - n, ".%06ldZ", us);
}

void out_fmt_duration(char *buf, size_t cap, double s)
{
	unsigned long n;

	if (!(s >= 0) || !isfinite(s)) {
		snprintf(buf, cap, "-");
		return;
	}
	if (s < 60) {
		snprintf(buf, cap, "%.1fs", s);
		return;
	}
	n = (unsigned long)s;
	if (n < 3600)
		snprintf(buf, cap, "%lum%02lus", n / 60, n % 60);
	else if (n < 86400)
		snprintf(buf, cap, "%luh%02lum", n / 3600, n % 3600 / 60);
	else
		snprintf(buf, cap, "%lud%02luh", n / 86400, n % 86400 / 3600);
}

void out_fmt_seconds(char *buf, size_t cap, double s)
{
	snprintf(buf, cap, "%.6f", isfinite(s) ? s : 0.0);
}

void out_fmt_bytes(char *buf, size_t cap, uint64_t n)
{
	static const char units[] = "KMGTPE";
	double v = (double)n;
	int u = -1;

	if (n < 1000) {
		snprintf(buf, cap, "%llu", (unsigned long long)n);
		return;
	}
	while (v >= 999.95 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, v < 9.995 ? "%.2f%c" : v < 99.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* See out.h. */
void out_argv(struct out *o, struct json_object *argv)
{
	size_t n = json_object_array_length(argv);

	for (size_t i = 0; i < n; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(argv, i));

		if (i)
			out_write(o, " ", 1);
		if (!a)
			a = "";
		if (*a && !strpbrk(a, " \t'\"\\$`;&|<>()*?[]{}~#!")) {
			out_safe_str(o, a);
			continue;
		}
		out_write(o, "'", 1);
		for (const char *p = a; *p; p++) {
			const char *q = strchr(p, '\'');
			size_t run = q ? (size_t)(q - p) : strlen(p);

			out_safe(o, p, run);
			p += run;
			if (!*p)
				break;
			out_str(o, "'\\''");
		}
		out_write(o, "'", 1);
	}
}
