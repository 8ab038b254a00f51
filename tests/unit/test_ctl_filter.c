/* Unit tests for sessrecctl's session filters (filter.c: --user, --host,
 * --src with CIDR, --since/--until, the day a shard can hold) and for the
 * one reading of header and end lines (sessinfo.c over shardread members,
 * fast or through json-c: the same fields). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "filter.h"
#include "sessinfo.h"
#include "shardread.h"
#include "testutil.h"

/* A writable copy of a string literal, for the char * fields of sessinfo. */
#define W(lit) ((char[]){ lit })

static struct sessinfo sess(char *user, char *host, char *src, double start)
{
	return (struct sessinfo){ .user = user, .host = host, .src_ip = src, .start = start };
}

struct src_case {
	const char *filter, *ip;
	bool match;
};

/* clang-format off */
static const struct src_case srcs[] = {
	{ "192.0.2.7", "192.0.2.7", true },
	{ "192.0.2.7", "192.0.2.70", false },
	{ "192.0.2.0/24", "192.0.2.255", true },
	{ "192.0.2.0/24", "192.0.3.1", false },
	{ "192.0.2.128/25", "192.0.2.127", false },
	{ "192.0.2.128/25", "192.0.2.128", true },
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.1", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "192.0.2.7/32", "192.0.2.7", true },
	{ "192.0.2.7/32", "192.0.2.6", false },
	{ "192.0.2.0/33", "192.0.2.1", false },       /* prefix too long */
	{ "192.0.2.0/", "192.0.2.1", false },         /* no prefix: nothing, not everything */
	{ "192.0.2.0/x", "192.0.2.1", false },
	{ "192.0.2.0/8x", "192.0.2.1", false },
	{ "192.0.2.0/0008", "192.0.2.1", false },
	{ "192.0.2/24", "192.0.2.1", false },
	{ "2001:db8::/32", "2001:db8:1::5", true },
	{ "2001:db8::/32", "2001:db9::5", false },
	{ "2001:db8::/127", "2001:db8::1", true },
	{ "2001:db8::/128", "2001:db8::1", false },
	{ "2001:db8::1", "2001:db8::1", true },
	{ "::/0", "::1", true },
	{ "2001:db8::/129", "2001:db8::1", false },
	{ "2001:db8::/32", "192.0.2.1", false },      /* families differ */
	{ "192.0.2.0/24", "::ffff:192.0.2.1", false },
	{ "192.0.2.0/24", "not an address", false },
};
/* clang-format on */

START_TEST(test_src)
{
	const struct src_case *c = &srcs[_i];
	struct filter f = { .src = c->filter };
	char ip[64];
	struct sessinfo s;

	snprintf(ip, sizeof(ip), "%s", c->ip);
	s = sess(W("u"), W("h"), ip, 1);

	ck_assert_msg(filter_match(&f, &s) == c->match, "--src %s vs %s", c->filter, c->ip);
	s.src_ip = NULL; /* an unknown source never matches */
	ck_assert(!filter_match(&f, &s));
}
END_TEST

START_TEST(test_user_host)
{
	struct filter f = { .user = "alice" };
	struct sessinfo s = sess(W("alice"), W("web1"), W("192.0.2.1"), 100);

	ck_assert(filter_active(&f));
	ck_assert(filter_match(&f, &s));
	s.user = W("alice2");
	ck_assert(!filter_match(&f, &s));
	s.user = W("Alice");
	ck_assert(!filter_match(&f, &s)); /* exact, case included */
	s.user = NULL;
	ck_assert(!filter_match(&f, &s));
	f = (struct filter){ .host = "web1" };
	s = sess(W("bob"), W("web1"), NULL, 0);
	ck_assert(filter_match(&f, &s));
	s.host = W("web10");
	ck_assert(!filter_match(&f, &s));
	f = (struct filter){ .user = "bob", .host = "web1" };
	s = sess(W("bob"), W("web1"), NULL, 0);
	ck_assert(filter_match(&f, &s));
	s.host = W("web2");
	ck_assert(!filter_match(&f, &s)); /* every filter must pass */
	f = (struct filter){ 0 };
	ck_assert(!filter_active(&f));
	ck_assert(filter_match(&f, &s));
}
END_TEST

START_TEST(test_time_range)
{
	struct filter f = { .since = 1000, .has_since = true };
	struct sessinfo s = sess(W("u"), W("h"), NULL, 1000);

	ck_assert(filter_active(&f));
	ck_assert(filter_match(&f, &s)); /* at or after */
	s.start = 999.999;
	ck_assert(!filter_match(&f, &s));
	s.start = 0; /* unknown start: excluded by a time filter */
	ck_assert(!filter_match(&f, &s));
	f = (struct filter){ .until = 2000, .has_until = true };
	s.start = 2000;
	ck_assert(filter_match(&f, &s)); /* at or before */
	s.start = 2000.5;
	ck_assert(!filter_match(&f, &s));
	s.start = 0;
	ck_assert(!filter_match(&f, &s));
	f = (struct filter){ .since = 1000, .has_since = true, .until = 2000, .has_until = true };
	s.start = 1500;
	ck_assert(filter_match(&f, &s));
	s.start = 2500;
	ck_assert(!filter_match(&f, &s));
	/* an empty range: nothing */
	f = (struct filter){ .since = 2000, .has_since = true, .until = 1000, .has_until = true };
	s.start = 1500;
	ck_assert(!filter_match(&f, &s));
}
END_TEST

/* Which day shards a time range needs (a shard holds the sessions that
 * started on its UTC day). */
START_TEST(test_day)
{
	const int64_t day = 1767225600; /* 2026-01-01T00:00Z */
	struct filter f = { 0 };

	ck_assert(filter_day(&f, day));
	f = (struct filter){ .since = day + 86399.5, .has_since = true };
	ck_assert(filter_day(&f, day));
	f.since = day + 86400;
	ck_assert(!filter_day(&f, day));
	ck_assert(filter_day(&f, day + 86400));
	f = (struct filter){ .until = day, .has_until = true };
	ck_assert(filter_day(&f, day));
	ck_assert(!filter_day(&f, day + 86400));
	ck_assert(filter_day(&f, day - 86400));
	f = (struct filter){ .user = "x" };
	ck_assert(filter_day(&f, day)); /* only times select days */
}
END_TEST

START_TEST(test_opt)
{
	struct ctl ctl = { 0 };
	struct filter f = { 0 };

	ck_assert_int_eq(filter_opt(&ctl, &f, "list", FILTER_OPT_USER, "alice"), 0);
	ck_assert_str_eq(f.user, "alice");
	ck_assert_int_eq(filter_opt(&ctl, &f, "list", FILTER_OPT_SRC, "10.0.0.0/8"), 0);
	ck_assert_int_eq(filter_opt(&ctl, &f, "list", FILTER_OPT_SINCE, "@1000"), 0);
	ck_assert(f.has_since && f.since == 1000);
	ck_assert_int_eq(filter_opt(&ctl, &f, "list", FILTER_OPT_UNTIL, "2026-02-30"), CTL_EXIT_USAGE);
	ck_assert(!f.has_until);
	ck_assert_int_eq(filter_opt(&ctl, &f, "list", 'x', NULL), -1);
}
END_TEST

#define SID "0f0e0d0c-0b0a-4908-8706-050403020100"

/* The same header and end in the writer's layout (members read fast) and
 * in another layout (members from json-c): the same fields. */
/* clang-format off */
static const char *const hdrs[] = {
	"{\"sid\":\"" SID "\",\"hdr\":{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1767225600,"
	"\"env\":{\"SHELL\":\"/bin/sh\",\"TERM\":\"dumb\"}},\"meta\":{\"user\":\"al\\u00efce\",\"service\":\"sshd\","
	"\"src_ip\":\"192.0.2.1\",\"host\":\"web1\",\"start\":\"2026-01-01T00:00:01.500000Z\",\"cmd\":\"ls\"}}",
	"{ \"sid\": \"" SID "\", \"hdr\": {\"version\": 2, \"timestamp\": 1767225600, "
	"\"env\": {\"SHELL\": \"/bin/sh\"}}, \"meta\": {\"user\": \"al\\u00efce\", \"service\": \"sshd\", "
	"\"src_ip\": \"192.0.2.1\", \"host\": \"web1\", \"start\": \"2026-01-01T00:00:01.500000Z\", \"cmd\": \"ls\"}}",
};

static const char *const ends[] = {
	"{\"sid\":\"" SID "\",\"end\":{\"duration\":12.5,\"bytes_out\":1000,\"bytes_in\":20,\"truncated\":true,"
	"\"reason\":\"exit\"}}",
	"{\"sid\": \"" SID "\", \"end\": {\"duration\": 1.25e1, \"bytes_out\": 1000, \"bytes_in\": 20, "
	"\"truncated\": true, \"reason\": \"exit\"}}",
};
/* clang-format on */

/* Members of line: the fast walker for i == 0 (which must take it), json-c
 * otherwise (the walker must give up). */
static size_t members(const char *line, int i, struct shardread_member *m, struct shardread_line *l)
{
	size_t n;

	if (i == 0) {
		ck_assert_int_eq(shardread_members(line, strlen(line), l, m, &n), 0);
		l->obj = NULL;
		return n;
	}
	ck_assert_int_lt(shardread_members(line, strlen(line), l, m, &n), 0);
	ck_assert_int_eq(shardread_parse(line, strlen(line), l), 0);
	ck_assert_int_eq(shardread_obj_members(l->obj, m, SHARDREAD_MEMBERS_MAX, &n), 0);
	return n;
}

START_TEST(test_sessinfo)
{
	struct shardread_member m[SHARDREAD_MEMBERS_MAX];
	struct shardread_line l;
	struct sessinfo s = { .last_t = 3 };
	size_t n = members(hdrs[_i], _i, m, &l);

	ck_assert_int_eq(l.kind, SHARDREAD_HDR);
	ck_assert_int_eq(sessinfo_hdr(&s, m, n), 0);
	ck_assert(s.has_hdr && s.command);
	ck_assert_str_eq(s.user,
			 "al\xc3\xaf"
			 "ce");
	ck_assert_str_eq(s.service, "sshd");
	ck_assert_str_eq(s.src_ip, "192.0.2.1");
	ck_assert_str_eq(s.host, "web1");
	ck_assert_double_eq(s.start, 1767225601.5); /* meta.start before hdr.timestamp */
	ck_assert_str_eq(sessinfo_state(&s), "live");
	shardread_release(&l);
	n = members(ends[_i], _i, m, &l);
	ck_assert_int_eq(l.kind, SHARDREAD_END);
	ck_assert_int_eq(sessinfo_end(&s, m, n), 0);
	ck_assert(s.has_end && s.trunc);
	ck_assert_double_eq(s.duration, 12.5);
	ck_assert_uint_eq(s.bytes_out, 1000);
	ck_assert_uint_eq(s.bytes_in, 20);
	ck_assert_str_eq(s.reason, "exit");
	ck_assert_str_eq(sessinfo_state(&s), "truncated");
	shardread_release(&l);
	sessinfo_free(&s);
}
END_TEST

/* Fields missing or of the wrong type stay unknown. */
START_TEST(test_sessinfo_partial)
{
	static const char *const h =
		"{\"sid\":\"" SID
		"\",\"hdr\":{\"timestamp\":1767225600},\"meta\":{\"user\":7,\"start\":\"yesterday\"}}";
	static const char *const e = "{\"sid\":\"" SID "\",\"end\":{\"duration\":\"long\",\"reason\":\"unattached\"}}";
	struct shardread_member m[SHARDREAD_MEMBERS_MAX];
	struct shardread_line l;
	struct sessinfo s = { .last_t = 4.5 };
	size_t n = members(h, 0, m, &l);

	ck_assert_int_eq(sessinfo_hdr(&s, m, n), 0);
	ck_assert_ptr_null(s.user);
	ck_assert(!s.command);
	ck_assert_double_eq(s.start, 1767225600); /* meta.start unreadable: hdr.timestamp */
	n = members(e, 0, m, &l);
	ck_assert_int_eq(sessinfo_end(&s, m, n), 0);
	ck_assert_double_eq(s.duration, 4.5); /* no duration: the last event's time */
	ck_assert_uint_eq(s.bytes_out, 0);
	ck_assert_str_eq(sessinfo_state(&s), "unattached");
	sessinfo_free(&s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_src, 0, (int)(sizeof(srcs) / sizeof(srcs[0])));
	tcase_add_test(tc, test_user_host);
	tcase_add_test(tc, test_time_range);
	tcase_add_test(tc, test_day);
	tcase_add_test(tc, test_opt);
	tcase_add_loop_test(tc, test_sessinfo, 0, 2);
	tcase_add_test(tc, test_sessinfo_partial);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
