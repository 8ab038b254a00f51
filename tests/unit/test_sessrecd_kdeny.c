/* Unit tests for sessrecd's kernel denial summaries (kdeny_rate) with the
 * in-memory emitter and sink: the first denial of a pid, syscall and action
 * in a second is a line at once, the rest of that second one line with
 * their exact count when the second is over or the session ends, other
 * syscalls and pids apart; and the attribution by audit session id
 * (kdeny_owner). The session rig is sessrig.h's. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "kdeny_owner.h"
#include "kdeny_rate.h"
#include "memsink.h"
#include "session.h"
#include "sessrig.h"
#include "testutil.h"

/* The session rig of sessrig.h, with a relaying session of audit session
 * 42 (a login's, as pam_loginuid gives one). */
static struct session *start(struct rig *r)
{
	struct session *s;

	rig_init(r);
	s = attach(r);
	s->st.audit_session = 42;
	ck_assert_int_eq(s->phase, SESSION_RELAYING);
	ck_assert_ptr_nonnull(s->rec.file);
	return s;
}

static struct auditrec rec(long pid, long nr, int64_t sec)
{
	struct auditrec a = { .kind = AUDITREC_KIND_SECCOMP,
			      .type = 1326,
			      .sec = sec,
			      .pid = pid,
			      .ses = 42,
			      .syscall = nr,
			      .arch = AUDIT_ARCH_X86_64_ID,
			      .code = 0x50000 };

	strcpy(a.comm, "probe");
	return a;
}

static size_t count_lines(const struct rig *r, const char *needle)
{
	size_t n = 0, from = 0;

	while (memsink_line(&r->m, &from, needle)) {
		n++;
		from++;
	}
	return n;
}

START_TEST(test_summary_counts)
{
	static struct kdeny_rate k;
	struct rig r;
	struct session *s;
	struct auditrec a = rec(100, 39, 1000), b = rec(100, 110, 1000), c = rec(101, 39, 1000);

	s = start(&r);
	memset(&k, 0, sizeof(k));
	for (int i = 0; i < 1000; i++)
		kdeny_rate_take(r.d, &k, s, &a, 1);
	kdeny_rate_take(r.d, &k, s, &b, 1);
	kdeny_rate_take(r.d, &k, s, &c, 1);
	/* three first lines at once, nothing counted written yet */
	ck_assert_uint_eq(count_lines(&r, "\"deny\":"), 3);
	ck_assert_uint_eq(count_lines(&r, "\"count\""), 0);
	ck_assert_ptr_nonnull(
		memsink_line(&r.m, NULL, "\"syscall\":39,\"syscall_name\":\"getpid\",\"action\":\"errno\"}"));
	/* the second is not over: still nothing */
	ck_assert(kdeny_rate_flush(r.d, &k, 1000, 2, false));
	ck_assert_uint_eq(count_lines(&r, "\"count\""), 0);
	/* over: one summary with the other 999 */
	kdeny_rate_flush(r.d, &k, 1001, 3, false);
	ck_assert_uint_eq(count_lines(&r, "\"count\":999}"), 1);
	ck_assert_uint_eq(count_lines(&r, "\"count\""), 1);
	/* a new second starts a new first line; the session's end writes the rest */
	a.sec = 1001;
	for (int i = 0; i < 5; i++)
		kdeny_rate_take(r.d, &k, s, &a, 4);
	ck_assert_uint_eq(count_lines(&r, "\"deny\":"), 5);
	kdeny_rate_session(r.d, &k, s);
	ck_assert_uint_eq(count_lines(&r, "\"count\":4}"), 1);
	ck_assert_uint_eq(k.denials, 1007);
	/* every line an event too */
	ck_assert_ptr_nonnull(memsink_event(&r.m, NULL, "session_denied"));
	/* idle buckets go */
	ck_assert(!kdeny_rate_flush(r.d, &k, 2000, 10000, false));
	rig_fini(&r);
}
END_TEST

START_TEST(test_owner_by_audit_session)
{
	static struct kdeny_owner o;
	struct rig r;
	struct session *s;

	s = start(&r);
	kdeny_owner_init(&o);
	/* pid 2 (kthreadd) is in no session's tree: only the audit session id
	 * says so */
	ck_assert_ptr_eq(kdeny_owner(r.d, &o, 2, 42, 1), s);
	ck_assert_ptr_null(kdeny_owner(r.d, &o, 2, 43, 100000));
	ck_assert_ptr_null(kdeny_owner(r.d, &o, 2, -1, 100000));
	/* remembered a while, then not */
	ck_assert_ptr_eq(kdeny_owner(r.d, &o, 2, -1, 2 + KDENY_OWNER_TTL_MS - 1), s);
	rig_fini(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sessrecd_kdeny");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_summary_counts);
	tcase_add_test(tc, test_owner_by_audit_session);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
