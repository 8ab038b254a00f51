/* timearg: reading times as users write them (--since, --until) and as
 * shard headers hold them (RFC 3339). Convention: 0 or -EINVAL. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timearg.h"

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

/* [.fraction] -> seconds; returns the end, or NULL for a '.' without a
 * digit. */
static const char *fraction(const char *p, double *frac)
{
	double scale = 0.1;

	*frac = 0;
	if (*p != '.')
		return p;
	if (p[1] < '0' || p[1] > '9')
		return NULL;
	for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
		*frac += (*p - '0') * scale;
	return p;
}

/* Days in month mo (1..12) of year y, Gregorian. */
static int month_days(int y, int mo)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return days[mo - 1] + (mo == 2 && leap);
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][Z|±HH:MM]; without a zone the time is
 * local, unless need_zone refuses it. Impossible dates (April 31, February
 * 29 of a common year) and leap seconds are refused, not carried into the
 * next month or minute by timegm. */
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
			if (!(p = fraction(p + 3, &frac)))
				return -EINVAL;
		}
	} else if (need_zone) {
		return -EINVAL;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || sec > 59)
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
		   (zm = digits(p + 4, 2)) >= 0 && zh <= 23 && zm <= 59) {
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

int timearg_rfc3339(const char *s, double *out)
{
	return parse_datetime(s, out, true);
}

int timearg_parse(const char *s, time_t now, double *out)
{
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
	/* clang-format off */
	switch (unit) {
	case 's': break;
	case 'm': n *= 60; break;
	case 'h': n *= 3600; break;
	case 'd': n *= 86400; break;
	case 'w': n *= 7 * 86400; break;
	default: return -EINVAL;
	}
	/* clang-format on */
	if (!isfinite(n))
		return -EINVAL; /* an age that overflowed once in seconds */
	*out = (double)now - n;
	return 0;
}
