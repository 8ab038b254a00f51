/* Unit tests for sessrecd's kernel denial summaries (kdeny_rate) with the
 * in-memory emitter and sink: the first denial of a pid, syscall and action
 * in a second is a line at once, the rest of that second one line with
 * their exact count when the second is over or the session ends, other
 * syscalls and pids apart; and the attribution by audit session id
 * (kdeny_owner). */
#include <check.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "kdeny_owner.h"
#include "kdeny_rate.h"
#include "memsink.h"
#include "session.h"
#include "testutil.h"

struct rig {
	struct daemon *d;
	struct memsink m;
	char dir[64];
	struct session *s;
	int term, shell; /* the user's and the shell's ends of the two ptys */
};

static void rig_init(struct rig *r)
{
	char why[256] = "";
	int tty;

	memset(r, 0, sizeof(*r));
	r->d = calloc(1, sizeof(*r->d));
	ck_assert_ptr_nonnull(r->d);
	config_defaults(&r->d->cfg);
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_sessrecd_kdeny.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->d->cfg.shard_dir, sizeof(r->d->cfg.shard_dir), "%s", r->dir);
	ck_assert_int_eq(loop_init(&r->d->loop), 0);
	r->d->ho.keeper_fd = -1;
	memsink_init(&r->m);
	r->d->emitter = &r->m.emitter;
	r->d->sink = &r->m.sink;
	/* a relaying session: live, with a shard */
	r->s = session_new(r->d);
	ck_assert_ptr_nonnull(r->s);
	strcpy(r->s->st.user, "alice");
	r->s->st.uid = 1000;
	r->s->st.pid = getpid();
	r->s->st.audit_session = 42;
	ck_assert_int_eq(openpty(&r->term, &tty, NULL, NULL, NULL), 0);
	/* No hangup: the test is no session leader of the terminal. */
	ck_assert_msg(session_attach_tty(r->d, r->s, tty, false, &r->shell, why, sizeof(why)) == 0, "attach: %s",
		      why);
	close(tty); /* the daemon keeps its own description of the terminal */
	ck_assert_int_eq(r->s->phase, SESSION_RELAYING);
	ck_assert_ptr_nonnull(r->s->rec.file);
}

static void rig_fini(struct rig *r)
{
	char cmd[128];

	while (r->d->sessions)
		session_free(r->d, r->d->sessions);
	recorder_close_all(r->d);
	loop_fini(&r->d->loop);
	memsink_free(&r->m);
	free(r->d);
	close(r->term);
	close(r->shell);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	ck_assert_int_eq(system(cmd), 0);
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
	struct auditrec a = rec(100, 39, 1000), b = rec(100, 110, 1000), c = rec(101, 39, 1000);

	rig_init(&r);
	memset(&k, 0, sizeof(k));
	for (int i = 0; i < 1000; i++)
		kdeny_rate_take(r.d, &k, r.s, &a, 1);
	kdeny_rate_take(r.d, &k, r.s, &b, 1);
	kdeny_rate_take(r.d, &k, r.s, &c, 1);
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
		kdeny_rate_take(r.d, &k, r.s, &a, 4);
	ck_assert_uint_eq(count_lines(&r, "\"deny\":"), 5);
	kdeny_rate_session(r.d, &k, r.s);
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

	rig_init(&r);
	kdeny_owner_init(&o);
	/* pid 2 (kthreadd) is in no session's tree: only the audit session id
	 * says so */
	ck_assert_ptr_eq(kdeny_owner(r.d, &o, 2, 42, 1), r.s);
	ck_assert_ptr_null(kdeny_owner(r.d, &o, 2, 43, 100000));
	ck_assert_ptr_null(kdeny_owner(r.d, &o, 2, -1, 100000));
	/* remembered a while, then not */
	ck_assert_ptr_eq(kdeny_owner(r.d, &o, 2, -1, 2 + KDENY_OWNER_TTL_MS - 1), r.s);
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
