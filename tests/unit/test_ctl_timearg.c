/* Unit tests for sessrecctl/timearg.c: every accepted form of --since /
 * --until (absolute, zoned, local, @UNIX, now/today/yesterday, ages) and
 * what must be refused (impossible dates, leap seconds, bad zones, junk,
 * overflow). Local times in TZ=Europe/Berlin's rules, as a POSIX TZ string
 * (no tzdata needed), so summer and winter time both show. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "testutil.h"
#include "timearg.h"

#define BERLIN "CET-1CEST,M3.5.0,M10.5.0/3"
#define BAD NAN

/* "now" for the relative forms: */
#define N_MID 1773576000 /* 2026-03-15T12:00:00Z, winter time */
#define N_DST 1774785600 /* 2026-03-29T12:00:00Z, the day summer time starts */
#define N_1ST 1772366400 /* 2026-03-01T12:00:00Z, yesterday is in February */
#define N_STD 1792929600 /* 2026-10-25T12:00:00Z, the day winter time is back */

struct when_case {
	const char *in;
	time_t now;
	double want; /* unix seconds, BAD: -EINVAL */
};

/* clang-format off */
static const struct when_case cases[] = {
	/* dates alone: local midnight */
	{ "2026-03-15", N_MID, 1773529200 },          /* 2026-03-14T23:00Z (CET) */
	{ "2026-07-01", N_MID, 1782856800 },          /* 2026-06-30T22:00Z (CEST) */
	{ "2024-02-29", N_MID, 1709161200 },          /* a leap day */
	{ "2026-01-01", N_MID, 1767222000 },
	/* local date and time, 'T', 't' or ' ' between */
	{ "2026-07-01 12:34", N_MID, 1782902040 },
	{ "2026-07-01T12:34", N_MID, 1782902040 },
	{ "2026-07-01t12:34", N_MID, 1782902040 },
	{ "2026-07-01 12:34:56", N_MID, 1782902096 },
	{ "2026-07-01 12:34:56.25", N_MID, 1782902096.25 },
	{ "2026-07-01 00:00:00", N_MID, 1782856800 },
	{ "2026-07-01 23:59:59", N_MID, 1782856800 + 86399 },
	/* zoned: UTC */
	{ "2026-07-01T12:34:56Z", N_MID, 1782909296 },
	{ "2026-07-01T12:34:56z", N_MID, 1782909296 },
	{ "2026-07-01 12:34:56Z", N_MID, 1782909296 },
	{ "2026-07-01T12:34:56.5Z", N_MID, 1782909296.5 },
	{ "2026-07-01T12:34:56.000001Z", N_MID, 1782909296.000001 },
	{ "2026-07-01T12:34Z", N_MID, 1782909240 },
	{ "2026-07-01Z", N_MID, 1782864000 },
	/* zoned: offsets */
	{ "2026-07-01T12:34:56+02:00", N_MID, 1782909296 - 7200 },
	{ "2026-07-01T12:34:56-05:30", N_MID, 1782909296 + 19800 },
	{ "2026-07-01T12:34:56+00:00", N_MID, 1782909296 },
	{ "2026-07-01T12:34:56-00:00", N_MID, 1782909296 },
	{ "2026-07-01T12:34:56+23:59", N_MID, 1782909296 - 86340 },
	{ "2026-07-01+02:00", N_MID, 1782864000 - 7200 },
	/* boundaries */
	{ "2024-02-29T00:00:00Z", N_MID, 1709164800 },
	{ "2000-02-29T00:00:00Z", N_MID, 951782400 },   /* divisible by 400: leap */
	{ "2026-01-31T23:59:59Z", N_MID, 1769903999 },
	{ "2026-04-30T00:00:00Z", N_MID, 1777507200 },
	{ "2026-12-31T23:59:59Z", N_MID, 1798761599 },
	{ "1970-01-01T00:00:00Z", N_MID, 0 },
	{ "1969-12-31T23:59:59Z", N_MID, -1 },
	{ "9999-12-31T23:59:59Z", N_MID, 253402300799 },
	{ "0001-01-01T00:00:00Z", N_MID, -62135596800 },
	/* impossible dates and times */
	{ "2025-02-29", N_MID, BAD },                 /* not a leap year */
	{ "1900-02-29T00:00:00Z", N_MID, BAD },       /* divisible by 100: not leap */
	{ "2026-02-30", N_MID, BAD },
	{ "2026-04-31", N_MID, BAD },
	{ "2026-06-31T00:00:00Z", N_MID, BAD },
	{ "2026-09-31 10:00", N_MID, BAD },
	{ "2026-11-31", N_MID, BAD },
	{ "2026-01-32", N_MID, BAD },
	{ "2026-01-00", N_MID, BAD },
	{ "2026-00-10", N_MID, BAD },
	{ "2026-13-01", N_MID, BAD },
	{ "2026-01-01T24:00Z", N_MID, BAD },
	{ "2026-01-01T12:60Z", N_MID, BAD },
	{ "2026-12-31T23:59:60Z", N_MID, BAD },       /* leap second */
	{ "2026-01-01 23:59:60", N_MID, BAD },
	{ "2026-01-01T12:34:61Z", N_MID, BAD },
	/* malformed */
	{ "", N_MID, BAD },
	{ "2026", N_MID, BAD },
	{ "2026-01", N_MID, BAD },
	{ "2026-1-01", N_MID, BAD },
	{ "26-01-01", N_MID, BAD },
	{ "2026/01/01", N_MID, BAD },
	{ "2026-01-01X", N_MID, BAD },
	{ "2026-01-01 ", N_MID, BAD },
	{ "2026-01-01T", N_MID, BAD },
	{ "2026-01-01T12", N_MID, BAD },
	{ "2026-01-01T12:3", N_MID, BAD },
	{ "2026-01-01T1:30", N_MID, BAD },
	{ "2026-01-01T12:34:5Z", N_MID, BAD },
	{ "2026-01-01T12:34:56.Z", N_MID, BAD },      /* a fraction needs a digit */
	{ "2026-01-01T12:34:56Zjunk", N_MID, BAD },
	{ "2026-01-01T12:34:56+0200", N_MID, BAD },
	{ "2026-01-01T12:34:56+02", N_MID, BAD },
	{ "2026-01-01T12:34:56+02:00junk", N_MID, BAD },
	{ "2026-01-01T12:34:56+24:00", N_MID, BAD },
	{ "2026-01-01T12:34:56+02:60", N_MID, BAD },
	{ "2026-01-01T12:34:56 +02:00", N_MID, BAD },
	{ "2026-0a-01", N_MID, BAD },
	/* @UNIX */
	{ "@1700000000", N_MID, 1700000000 },
	{ "@1700000000.5", N_MID, 1700000000.5 },
	{ "@0", N_MID, 0 },
	{ "@-86400", N_MID, -86400 },
	{ "@", N_MID, BAD },
	{ "@x", N_MID, BAD },
	{ "@12x", N_MID, BAD },
	{ "@inf", N_MID, BAD },
	{ "@nan", N_MID, BAD },
	{ "@1e400", N_MID, BAD },
	/* words */
	{ "now", N_MID, N_MID },
	{ "today", N_MID, 1773529200 },               /* 2026-03-15 00:00 CET */
	{ "yesterday", N_MID, 1773442800 },
	{ "today", N_DST, 1774738800 },               /* midnight was still CET */
	{ "yesterday", N_DST, 1774652400 },
	{ "today", N_1ST, 1772319600 },
	{ "yesterday", N_1ST, 1772233200 },           /* 2026-02-28 00:00 CET */
	{ "today", N_STD, 1792879200 },               /* midnight was still CEST */
	{ "yesterday", N_STD, 1792792800 },
	{ "Now", N_MID, BAD },
	{ "TODAY", N_MID, BAD },
	{ "tomorrow", N_MID, BAD },
	{ "today ", N_MID, BAD },
	/* ages */
	{ "90s", N_MID, N_MID - 90 },
	{ "30m", N_MID, N_MID - 1800 },
	{ "2h", N_MID, N_MID - 7200 },
	{ "3d", N_MID, N_MID - 3 * 86400 },
	{ "1w", N_MID, N_MID - 7 * 86400 },
	{ "1.5h", N_MID, N_MID - 5400 },
	{ "0s", N_MID, N_MID },
	{ "2h ago", N_MID, N_MID - 7200 },
	{ "3d ago", N_MID, N_MID - 3 * 86400 },
	{ "5", N_MID, BAD },                          /* a unit is needed */
	{ "5x", N_MID, BAD },
	{ "5 m", N_MID, BAD },
	{ "5mm", N_MID, BAD },
	{ "5m ago ", N_MID, BAD },
	{ "5m  ago", N_MID, BAD },
	{ "5m later", N_MID, BAD },
	{ "-5m", N_MID, BAD },
	{ "+5m", N_MID, BAD },
	{ "m", N_MID, BAD },
	{ "ago", N_MID, BAD },
	{ "infs", N_MID, BAD },
	{ "nanh", N_MID, BAD },
	{ "1e400s", N_MID, BAD },
	{ "1e305w", N_MID, BAD },                     /* overflows once in seconds */
	{ "last tuesday", N_MID, BAD },
};
/* clang-format on */

START_TEST(test_parse)
{
	const struct when_case *c = &cases[_i];
	double got = -12345;
	int r = timearg_parse(c->in, c->now, &got);

	if (isnan(c->want)) {
		ck_assert_msg(r == -EINVAL, "'%s' accepted as %.6f", c->in, got);
		ck_assert_msg(got == -12345, "'%s' refused but wrote %.6f", c->in, got);
	} else {
		ck_assert_msg(r == 0, "'%s' refused", c->in);
		ck_assert_msg(fabs(got - c->want) < 1e-6, "'%s': %.6f, want %.6f", c->in, got, c->want);
	}
}
END_TEST

/* RFC 3339 (shard headers' meta.start): a zone is required. */
/* clang-format off */
static const struct when_case rfc[] = {
	{ "2026-07-01T12:34:56Z", 0, 1782909296 },
	{ "2026-07-01T12:34:56.123456Z", 0, 1782909296.123456 },
	{ "2026-07-01 12:34:56+02:00", 0, 1782909296 - 7200 },
	{ "2026-07-01t12:34:56z", 0, 1782909296 },
	{ "2026-07-01T12:34Z", 0, 1782909240 },
	{ "2026-07-01T12:34:56", 0, BAD },            /* local: not RFC 3339 */
	{ "2026-07-01", 0, BAD },
	{ "2026-07-01Z", 0, BAD },
	{ "2026-02-29T00:00:00Z", 0, BAD },
	{ "2026-07-01T12:34:60Z", 0, BAD },
	{ "@1700000000", 0, BAD },
	{ "now", 0, BAD },
	{ "2h", 0, BAD },
	{ "", 0, BAD },
};
/* clang-format on */

START_TEST(test_rfc3339)
{
	const struct when_case *c = &rfc[_i];
	double got = 0;
	int r = timearg_rfc3339(c->in, &got);

	if (isnan(c->want)) {
		ck_assert_msg(r == -EINVAL, "'%s' accepted as %.6f", c->in, got);
	} else {
		ck_assert_msg(r == 0, "'%s' refused", c->in);
		ck_assert_msg(fabs(got - c->want) < 1e-6, "'%s': %.6f, want %.6f", c->in, got, c->want);
	}
}
END_TEST

/* Local forms follow TZ: the same text is another instant in UTC. */
START_TEST(test_tz_utc)
{
	double got;

	setenv("TZ", "UTC0", 1);
	tzset();
	ck_assert_int_eq(timearg_parse("2026-07-01 12:34:56", N_MID, &got), 0);
	ck_assert_double_eq(got, 1782909296);
	ck_assert_int_eq(timearg_parse("today", N_MID, &got), 0);
	ck_assert_double_eq(got, 1773532800); /* 2026-03-15T00:00Z */
	ck_assert_int_eq(timearg_parse("2026-07-01T12:34:56+02:00", N_MID, &got), 0);
	ck_assert_double_eq(got, 1782909296 - 7200);
	setenv("TZ", BERLIN, 1);
	tzset();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("timearg");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, test_rfc3339, 0, (int)(sizeof(rfc) / sizeof(rfc[0])));
	tcase_add_test(tc, test_tz_utc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	setenv("TZ", BERLIN, 1);
	tzset();
	return testutil_run(suite());
}
