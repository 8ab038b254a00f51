/* Unit tests for sessrecd's session state machine, driven through the real
 * relay and recorder with the in-memory emitter and shard sink (memsink.h):
 * attach -> output -> inner EOF -> drain -> end, and the lines and events
 * each step leaves; the loss accounting (a failed write reported by the
 * writer, a shard file removed under the session). Two ptys stand in for the user's terminal (outer) and
 * the shell's (inner). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "daemon.h"
#include "memsink.h"
#include "monoclock.h"
#include "session.h"
#include "writer.h"
#include "testutil.h"
#include "sessrig.h"

/* What the user's terminal shows, read until want appears (or 5 s). */
static void term_expect(struct rig *r, const char *want)
{
	char buf[4096];
	size_t have = 0;
	int64_t end = mono_ms() + 5000;

	while (mono_ms() < end) {
		struct pollfd p = { .fd = r->term, .events = POLLIN };
		ssize_t n;

		(void)loop_run_once(&r->d->loop, 0);
		if (poll(&p, 1, 20) <= 0)
			continue;
		n = read(r->term, buf + have, sizeof(buf) - 1 - have);
		if (n > 0) {
			have += (size_t)n;
			buf[have] = '\0';
			if (strstr(buf, want))
				return;
		}
	}
	ck_abort_msg("the terminal never showed '%s'", want);
}

struct counted_waiter {
	struct session_waiter w;
	int calls;
};

static void waiter_ended(struct session_waiter *w, const char *sid, const char *state)
{
	struct counted_waiter *cw = (struct counted_waiter *)(void *)((char *)w - offsetof(struct counted_waiter, w));

	(void)sid;
	ck_assert_str_eq(state, "recorded");
	cw->calls++;
}

/* The attach's "drained": by then the terminal is the user's again. */
static int drained_tty = -1;
static void drained(struct session_waiter *w, const char *sid, const char *state)
{
	struct stat st;

	ck_assert_int_eq(fstat(drained_tty, &st), 0);
	ck_assert_uint_eq(st.st_uid, 1000);
	ck_assert_uint_eq(st.st_gid, 5);
	ck_assert_uint_eq(st.st_mode & 07777, 0620);
	waiter_ended(w, sid, state);
}

START_TEST(test_lifecycle)
{
	struct rig r;
	struct counted_waiter cw = { .w = { .ended = waiter_ended } }, dw = { .w = { .ended = drained } };
	struct session *s;
	const char *l;
	size_t at = 0;

	rig_init(&r);
	s = attach(&r);
	drained_tty = r.term_tty;
	ck_assert_int_eq(session_wait_drained(s, &dw.w), 0);
	ck_assert_int_eq(session_wait_drained(s, &dw.w), -EBUSY);
	ck_assert_int_eq(s->phase, SESSION_RELAYING);
	ck_assert_uint_eq(session_relay_count(r.d), 1);
	ck_assert_uint_eq(session_live_count(r.d), 1);
	ck_assert_ptr_nonnull(memsink_line(&r.m, &at, "\"user\":\"alice\"")); /* the header */
	ck_assert_uint_eq(at, 0);

	/* output: the shell writes, the terminal shows it, the shard has it */
	ck_assert_int_eq(write(r.shell, "hello\n", 6), 6);
	term_expect(&r, "hello");
	ck_assert_ptr_nonnull(l = memsink_line(&r.m, &at, "hello"));
	ck_assert_ptr_nonnull(strstr(l, "\"o\""));
	ck_assert_uint_ge(s->st.bytes_out, 6);

	/* the terminal stops taking output; the shell writes and exits */
	ck_assert_int_eq(tcflow(r.term_tty, TCOOFF), 0);
	ck_assert_int_eq(write(r.shell, "bye\n", 4), 4);
	RUN_UNTIL(&r, relay_output_pending(&s->relay) > 0);
	close(r.shell);
	r.shell = -1;
	RUN_UNTIL(&r, s->phase == SESSION_DRAINING);
	ck_assert_str_eq(s->end_reason, "exit");
	ck_assert_uint_eq(session_relay_count(r.d), 1);
	ck_assert_ptr_null(memsink_event(&r.m, NULL, "session_recorded"));
	/* PAM's close waits for the end */
	ck_assert_int_eq(session_wait_end(s, &cw.w, mono_ms()), 0);
	ck_assert_int_eq(session_wait_end(s, &cw.w, mono_ms()), -EBUSY);

	/* the terminal takes output again: drained, the session ends */
	ck_assert_int_eq(dw.calls, 0);
	ck_assert_int_eq(tcflow(r.term_tty, TCOON), 0);
	term_expect(&r, "bye");
	RUN_UNTIL(&r, s->phase == SESSION_FINISHING);
	/* "drained" once, at the end of the relaying, not of the writing */
	ck_assert_int_eq(dw.calls, 1);
	ck_assert_ptr_null(dw.w.s);
	ck_assert_int_eq(session_wait_drained(s, &dw.w), -ESRCH);
	ck_assert_uint_eq(session_relay_count(r.d), 0);
	ck_assert_uint_eq(session_live_count(r.d), 1);
	ck_assert_ptr_nonnull(memsink_line(&r.m, &at, "bye"));
	ck_assert_ptr_nonnull(l = memsink_line(&r.m, &at, "\"reason\":\"exit\""));
	ck_assert_uint_eq(at, r.m.nlines - 1); /* the end line is the last */
	ck_assert_uint_gt(s->rec.end_seq, 0);
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "session_recorded"));
	ck_assert_ptr_nonnull(strstr(l, "reason=exit"));
	ck_assert_ptr_nonnull(strstr(l, "user=alice"));
	ck_assert_uint_eq(r.m.nevents, 1);

	/* the writer has everything on disk: the close hears "recorded" */
	ck_assert_int_eq(cw.calls, 0);
	session_writer_stopped(r.d);
	ck_assert_int_eq(cw.calls, 1);
	ck_assert_ptr_null(cw.w.s);
	ck_assert_uint_eq(s->rec.end_seq, 0);
	rig_fini(&r);
}
END_TEST

START_TEST(test_hangup)
{
	struct rig r;
	struct session *s;
	const char *l;

	rig_init(&r);
	s = attach(&r);
	ck_assert_int_eq(write(r.shell, "last words\n", 11), 11);
	term_expect(&r, "last words");
	/* the user's terminal goes away: the session ends at once */
	close(r.term);
	r.term = open("/dev/null", O_RDONLY | O_CLOEXEC);
	RUN_UNTIL(&r, s->phase == SESSION_FINISHING);
	ck_assert_ptr_nonnull(memsink_line(&r.m, NULL, "last words"));
	ck_assert_ptr_nonnull(memsink_line(&r.m, NULL, "\"reason\":\"hangup\""));
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "session_recorded"));
	ck_assert_ptr_nonnull(strstr(l, "reason=hangup"));
	/* ended sessions are not ended twice */
	session_end(r.d, s, "shutdown");
	ck_assert_uint_eq(r.m.nevents, 1);
	rig_fini(&r);
}
END_TEST

START_TEST(test_dry_run_and_command)
{
	struct rig r;
	struct session *a, *b;
	int in[2], out[2], err[2], fds[3], cmd[3];
	char why[256] = "";

	rig_init(&r);
	a = session_new(r.d);
	b = session_new(r.d);
	ck_assert_uint_eq(session_live_count(r.d), 2);
	session_attach_dry_run(a);
	ck_assert_int_eq(a->phase, SESSION_DRYRUN);
	ck_assert_int_eq(state_set(&b->st.cmd, STATE_CMD_MAX, "uname -a"), 0);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	fds[0] = in[0];
	fds[1] = out[1];
	fds[2] = err[1];
	ck_assert_msg(session_attach_command(r.d, b, fds, cmd, why, sizeof(why)) == 0, "attach: %s", why);
	ck_assert_int_eq(b->phase, SESSION_COMMAND);
	ck_assert_int_eq(fds[0], -1); /* taken */
	/* a running command holds a slot; it has no terminal relay */
	ck_assert_uint_eq(session_live_count(r.d), 1);
	ck_assert_uint_eq(session_relay_count(r.d), 0);
	ck_assert_ptr_nonnull(memsink_line(&r.m, NULL, "uname -a"));
	ck_assert_uint_eq(r.m.nevents, 0); /* attach.c says so, not the session */
	/* the command closes its stdout and stderr: the session ends */
	for (int i = 0; i < 3; i++)
		close(cmd[i]);
	RUN_UNTIL(&r, b->phase == SESSION_FINISHING);
	ck_assert_ptr_nonnull(memsink_line(&r.m, NULL, "\"reason\":\"exit\""));
	ck_assert_ptr_nonnull(memsink_event(&r.m, NULL, "session_recorded"));
	close(in[1]);
	close(out[0]);
	close(err[0]);
	r.term = r.term_tty = -1;
	r.shell = -1;
	rig_fini(&r);
}
END_TEST

/* The shell writes word and a newline; the terminal shows both (so the
 * recorder has had them). */
static void shell_says(struct rig *r, const char *word)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s\n", word);

	ck_assert_int_eq(write(r->shell, buf, (size_t)n), n);
	snprintf(buf, sizeof(buf), "%s\r\n", word);
	term_expect(r, buf);
}

/* The shell exits; the session reaches FINISHING with its end line last. */
static const char *session_ends(struct rig *r, struct session *s)
{
	close(r->shell);
	r->shell = -1;
	RUN_UNTIL(r, s->phase == SESSION_FINISHING);
	ck_assert_ptr_nonnull(strstr(r->m.lines[r->m.nlines - 1], "\"end\""));
	return r->m.lines[r->m.nlines - 1];
}

/* The writer failed a line ("one"): recording_degraded; "two" is counted,
 * not queued; the writer's count comes (the failed line); at the tick the
 * loss marker states both; lines follow it at once; when the writer wrote
 * it, recording_resumed. The end line and session_recorded carry the loss,
 * and bytes_recorded counts exactly the lines kept. */
START_TEST(test_disk_loss)
{
	struct writer_error we;
	struct rig r;
	struct session *s;
	const char *l;
	char want[256];
	size_t at = 0, one = 0, one_len, n0, kept = 0;
	uint64_t two_len, lost;

	rig_init(&r);
	s = attach(&r);
	shell_says(&r, "one");
	ck_assert_ptr_nonnull(l = memsink_line(&r.m, &one, "\"d\":\"one"));
	one_len = strlen(l);
	report(s, WRITER_FAILED, 0);
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "recording_degraded"));
	ck_assert_ptr_nonnull(strstr(l, "reason=ENOSPC"));
	n0 = r.m.nlines;
	shell_says(&r, "two");
	ck_assert_uint_eq(r.m.nlines, n0); /* counted, not queued */
	two_len = s->rec.lost_pending.bytes;
	ck_assert_uint_gt(two_len, 0);
	ck_assert_uint_eq(s->rec.lost_pending.out, 5); /* "two\r\n" */
	we = (struct writer_error){ .owner = s->serial, .kind = WRITER_FENCE, .lost = { one_len, 5, 0 } };
	recorder_writer_report(&s->rec, &we);
	ck_assert_uint_eq(r.m.nlines, n0); /* the marker waits for the tick */
	recloss_tick(r.d);
	lost = one_len + two_len;
	snprintf(want, sizeof(want), "write failed (ENOSPC); %llu bytes lost (10 of output, 0 of input)",
		 (unsigned long long)lost);
	at = n0;
	ck_assert_ptr_nonnull(memsink_line(&r.m, &at, want));
	ck_assert_uint_eq(at, n0);
	shell_says(&r, "three");
	ck_assert_ptr_nonnull(memsink_line(&r.m, &at, "three"));
	ck_assert_ptr_null(memsink_event(&r.m, NULL, "recording_resumed"));
	report(s, WRITER_RESUMED, 0);
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "recording_resumed"));
	snprintf(want, sizeof(want), "lost_bytes=%llu lost_output=10 lost_input=0", (unsigned long long)lost);
	ck_assert_ptr_nonnull(strstr(l, want));

	l = session_ends(&r, s);
	for (size_t i = 0; i + 1 < r.m.nlines; i++)
		if (i != one)
			kept += strlen(r.m.lines[i]);
	snprintf(want, sizeof(want), "\"bytes_recorded\":%zu,", kept);
	ck_assert_msg(strstr(l, want), "%s in %s", want, l);
	snprintf(want, sizeof(want), "\"lost_bytes\":%llu,\"lost_output\":10,\"lost_input\":0,",
		 (unsigned long long)lost);
	ck_assert_ptr_nonnull(strstr(l, want));
	ck_assert_ptr_nonnull(strstr(l, "\"truncated\":false"));
	ck_assert_ptr_nonnull(strstr(l, "\"write_error\":\"ENOSPC\""));
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "session_recorded"));
	snprintf(
		want, sizeof(want),
		"truncated=false reason=exit degraded=true lost_bytes=%llu lost_output=10 lost_input=0 write_error=ENOSPC "
		"shard_lost=false removed_bytes=0",
		(unsigned long long)lost);
	ck_assert_msg(strstr(l, want), "%s", l);
	rig_fini(&r);
}
END_TEST

/* A failed loss marker: the loss goes on (fenced again), the lines queued
 * behind the marker are counted by the writer, and the next marker states
 * everything. */
START_TEST(test_disk_loss_marker_fails)
{
	struct rig r;
	struct session *s;
	char want[128];
	size_t at;
	uint64_t b0;

	rig_init(&r);
	s = attach(&r);
	b0 = s->st.bytes_recorded;
	report(s, WRITER_FAILED, 0);
	report(s, WRITER_FENCE, 100);
	recloss_tick(r.d);
	ck_assert_int_eq(s->rec.loss, RECORDER_MARKING);
	report(s, WRITER_FAILED, 0); /* the marker failed */
	ck_assert_int_eq(s->rec.loss, RECORDER_FENCING);
	report(s, WRITER_FENCE, 20); /* a line queued behind it */
	ck_assert_uint_eq(s->st.bytes_recorded, b0 - 100 - 20);
	at = r.m.nlines;
	recloss_tick(r.d);
	ck_assert_ptr_nonnull(
		memsink_line(&r.m, &at, "write failed (ENOSPC); 120 bytes lost (0 of output, 0 of input)"));
	report(s, WRITER_RESUMED, 0);
	ck_assert_int_eq(s->rec.loss, RECORDER_OK);
	ck_assert_uint_eq(recloss_lost(&s->rec).bytes, 120);
	snprintf(want, sizeof(want), "\"lost_bytes\":120,");
	ck_assert_ptr_nonnull(strstr(session_ends(&r, s), want));
	rig_fini(&r);
}
END_TEST

/* The shard file and its directory are removed under the session: at the
 * tick both are made again (0700, 0640), the session's header comes first
 * in the new file, then the marker with the bytes the removed file held;
 * shard_lost; the end line and session_recorded count them. */
START_TEST(test_shard_removed)
{
	struct rig r;
	struct session *s;
	struct stat sb;
	const char *l;
	char want[160];
	size_t at, gone = 0;

	rig_init(&r);
	s = attach(&r);
	shell_says(&r, "one");
	for (size_t i = 0; i < r.m.nlines; i++)
		gone += strlen(r.m.lines[i]);
	ck_assert_uint_eq(s->rec.file_bytes, gone);
	ck_assert_int_eq(unlink(s->st.shard), 0);
	ck_assert_int_eq(rmdir(r.dir), 0);
	at = r.m.nlines;
	recloss_tick(r.d);
	ck_assert_int_eq(stat(r.dir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(s->st.shard, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0640);
	ck_assert_ptr_nonnull(strstr(r.m.lines[at], "\"hdr\""));
	snprintf(want, sizeof(want), "shard replaced; %zu bytes written to the removed file", gone);
	ck_assert_ptr_nonnull(strstr(r.m.lines[at + 1], want));
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "shard_lost"));
	snprintf(want, sizeof(want), "bytes=%zu", gone);
	ck_assert_ptr_nonnull(strstr(l, want));
	recloss_tick(r.d); /* the new file is the one at the path: nothing more */
	ck_assert_uint_eq(r.m.nlines, at + 2);
	shell_says(&r, "two");
	snprintf(want, sizeof(want), "\"removed_bytes\":%zu,", gone);
	ck_assert_ptr_nonnull(strstr(session_ends(&r, s), want));
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "session_recorded"));
	ck_assert_ptr_nonnull(strstr(l, "degraded=false"));
	ck_assert_ptr_nonnull(strstr(l, "shard_lost=true"));
	rig_fini(&r);
}
END_TEST

/* The session ends while the writer's count is still out: the end line
 * and session_recorded wait for it, then the end line follows the loss
 * marker with the exact counts. */
START_TEST(test_end_waits_for_fence)
{
	struct rig r;
	struct session *s;
	const char *l;
	size_t at;

	rig_init(&r);
	s = attach(&r);
	report(s, WRITER_FAILED, 0);
	close(r.shell);
	r.shell = -1;
	RUN_UNTIL(&r, s->phase == SESSION_FINISHING);
	ck_assert_uint_eq(s->rec.end_seq, UINT64_MAX);
	ck_assert_ptr_null(memsink_event(&r.m, NULL, "session_recorded"));
	ck_assert_ptr_null(memsink_line(&r.m, NULL, "\"end\""));
	at = r.m.nlines;
	report(s, WRITER_FENCE, 50);
	ck_assert_ptr_nonnull(memsink_line(&r.m, &at, "write failed (ENOSPC); "));
	ck_assert_ptr_nonnull(l = memsink_line(&r.m, &at, "\"end\""));
	ck_assert_uint_eq(at, r.m.nlines - 1);
	ck_assert_ptr_nonnull(strstr(l, "\"write_error\":\"ENOSPC\""));
	ck_assert_uint_lt(s->rec.end_seq, UINT64_MAX);
	ck_assert_ptr_nonnull(l = memsink_event(&r.m, NULL, "session_recorded"));
	ck_assert_ptr_nonnull(strstr(l, "degraded=true"));
	rig_fini(&r);
}
END_TEST

/* A renamed (rotated) shard keeps its session, whose state follows the
 * new name. */
START_TEST(test_shard_renamed)
{
	struct rig r;
	struct session *s;
	char path[PATH_MAX], moved[PATH_MAX + 4];
	size_t n0;

	rig_init(&r);
	s = attach(&r);
	snprintf(path, sizeof(path), "%s", s->st.shard);
	snprintf(moved, sizeof(moved), "%s.1", path);
	ck_assert_int_eq(rename(path, moved), 0);
	n0 = r.m.nlines;
	recloss_tick(r.d);
	ck_assert_uint_eq(r.m.nlines, n0);
	ck_assert_ptr_null(memsink_event(&r.m, NULL, "shard_lost"));
	ck_assert(s->rec.file->moved);
	ck_assert_int_eq(access(path, F_OK), -1); /* not made again */
	/* the state names the renamed file: a later daemon resumes there */
	ck_assert_str_eq(s->st.shard, moved);
	ck_assert(s->sync.urgent);
	shell_says(&r, "one");
	ck_assert_uint_gt(r.m.nlines, n0);
	rig_fini(&r);
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("sessrecd_session");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_hangup);
	tcase_add_test(tc, test_dry_run_and_command);
	tcase_add_test(tc, test_disk_loss);
	tcase_add_test(tc, test_disk_loss_marker_fails);
	tcase_add_test(tc, test_end_waits_for_fence);
	tcase_add_test(tc, test_shard_removed);
	tcase_add_test(tc, test_shard_renamed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(session_suite());
}
