/* Unit tests for common/event: the event table (names, distinct MESSAGE_IDs,
 * severities), the seed-000-compatible syslog line, and one datagram really
 * sent to a syslog-style socket. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "event.h"
#include "testutil.h"

static const struct {
	enum event_type t;
	const char *name;
	int prio;
} table[] = {
	{ EVENT_SESSION_STARTED, "session_started", LOG_INFO },
	{ EVENT_SESSION_RECORDED, "session_recorded", LOG_INFO },
	{ EVENT_SESSION_SKIPPED, "session_skipped", LOG_WARNING },
	{ EVENT_SESSION_UNATTACHED, "session_unattached", LOG_WARNING },
	{ EVENT_SESSION_COMMAND, "session_command", LOG_INFO },
	{ EVENT_SESSION_RESUMED, "session_resumed", LOG_INFO },
	{ EVENT_ATTACH_REFUSED, "attach_refused", LOG_WARNING },
	{ EVENT_SHARD_LOST, "shard_lost", LOG_ALERT },
	{ EVENT_RECORDING_DEGRADED, "recording_degraded", LOG_ALERT },
	{ EVENT_RECORDING_RESUMED, "recording_resumed", LOG_WARNING },
	{ EVENT_SESSION_TRUNCATED, "session_truncated", LOG_WARNING },
	{ EVENT_SHARD_DIR_UNSAFE, "shard_dir_unsafe", LOG_WARNING },
	{ EVENT_SESSION_TERMINATED, "session_terminated", LOG_ALERT },
	{ EVENT_DEPLOYMENT_ERROR, "deployment_error", LOG_ALERT },
	{ EVENT_SHARD_COMPRESSED, "shard_compressed", LOG_INFO },
	{ EVENT_SHARD_DELETED, "shard_deleted", LOG_NOTICE },
	{ EVENT_SESSION_REFUSED, "session_refused", LOG_WARNING },
};

START_TEST(test_table)
{
	const char *id = event_message_id(table[_i].t);

	ck_assert_str_eq(event_name(table[_i].t), table[_i].name);
	ck_assert_int_eq(event_priority(table[_i].t), table[_i].prio);
	ck_assert_uint_eq(strlen(id), 32);
	ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
	for (size_t j = 0; j < sizeof(table) / sizeof(table[0]); j++)
		if (j != (size_t)_i)
			ck_assert_str_ne(id, event_message_id(table[j].t));
}
END_TEST

START_TEST(test_unknown)
{
	struct event e = { .type = _EVENT_MAX };
	char buf[256];

	ck_assert_int_eq(_EVENT_MAX, sizeof(table) / sizeof(table[0]));
	ck_assert_ptr_null(event_name(_EVENT_MAX));
	ck_assert_ptr_null(event_message_id((enum event_type)(-1)));
	ck_assert_int_eq(event_format_syslog(buf, sizeof(buf), &e, LOG_LOCAL0, "h", "a", NULL), -EINVAL);
	e.type = EVENT_SESSION_STARTED;
	ck_assert_int_eq(event_format_syslog(buf, sizeof(buf), &e, 24 << 3, "h", "a", NULL), -EINVAL);
	ck_assert_int_eq(event_format_syslog(buf, sizeof(buf), &e, 5, "h", "a", NULL), -EINVAL);
}
END_TEST

START_TEST(test_add)
{
	struct event e = { .type = EVENT_SESSION_STARTED };
	char name[EVENT_PARAMS_MAX + 5][8];

	event_add(&e, "nullval", NULL);
	event_add(&e, NULL, "x");
	ck_assert_uint_eq(e.nparams, 0);
	for (int i = 0; i < EVENT_PARAMS_MAX + 5; i++) {
		snprintf(name[i], sizeof(name[i]), "p%d", i);
		event_add(&e, name[i], "v");
	}
	ck_assert_uint_eq(e.nparams, EVENT_PARAMS_MAX);
	ck_assert_str_eq(e.params[EVENT_PARAMS_MAX - 1].name, name[EVENT_PARAMS_MAX - 1]);
}
END_TEST

/* The seed 000 line, byte for byte, with our PROCID. */
START_TEST(test_seed_line)
{
	const struct timespec ts = { 1795341600, 123456000 };
	struct event e = { .type = EVENT_SESSION_RECORDED };
	char buf[1024], want[1024];
	int n;

	event_add(&e, "sid", "2c849f6c-dc87-4c34-9451-f1078d72ded5");
	event_add(&e, "service", "ssh");
	event_add(&e, "src_ip", "192.0.2.7");
	event_add(&e, "duration_s", "12.345");
	event_add(&e, "bytes", "4567");
	event_add(&e, "truncated", "false");
	n = event_format_syslog(buf, sizeof(buf), &e, LOG_LOCAL0, "NODE", "sessrec", &ts);
	snprintf(want, sizeof(want),
		 "<134>1 2026-11-22T10:00:00.123456+00:00 NODE sessrec %d session_recorded [relay@55555 "
		 "sid=\"2c849f6c-dc87-4c34-9451-f1078d72ded5\" service=\"ssh\" src_ip=\"192.0.2.7\" "
		 "duration_s=\"12.345\" bytes=\"4567\" truncated=\"false\"]",
		 (int)getpid());
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(n, (int)strlen(want));

	e = (struct event){ .type = EVENT_SESSION_SKIPPED, .msg = "disk below 200M" };
	event_add(&e, "reason", "disk_pressure");
	n = event_format_syslog(buf, sizeof(buf), &e, LOG_AUTHPRIV, "NODE", "sessrec", &ts);
	snprintf(want, sizeof(want),
		 "<84>1 2026-11-22T10:00:00.123456+00:00 NODE sessrec %d session_skipped [relay@55555 "
		 "reason=\"disk_pressure\"] disk below 200M",
		 (int)getpid());
	ck_assert_str_eq(buf, want);
}
END_TEST

/* The one session_skipped builder, in the two shapes it is emitted in:
 * sessrecd's (disk pressure, session limit) and pam_sessrec's (daemon
 * unreachable, with the login's details). */
START_TEST(test_session_skipped)
{
	struct timespec ts = { .tv_sec = 1795341600, .tv_nsec = 123456789 };
	char buf[1024], want[1024];
	struct event e;

	event_session_skipped(&e, &(struct event_skipped){ .reason = "disk_pressure",
							   .user = "alice",
							   .service = "ssh",
							   .pam_service = "sshd",
							   .src_ip = "-" });
	ck_assert_int_gt(event_format_syslog(buf, sizeof(buf), &e, LOG_AUTHPRIV, "NODE", "sessrec", &ts), 0);
	snprintf(want, sizeof(want),
		 "<84>1 2026-11-22T10:00:00.123456+00:00 NODE sessrec %d session_skipped [relay@55555 "
		 "reason=\"disk_pressure\" user=\"alice\" service=\"ssh\" pam_service=\"sshd\" src_ip=\"-\"]",
		 (int)getpid());
	ck_assert_str_eq(buf, want);

	event_session_skipped(&e, &(struct event_skipped){ .reason = "daemon_unreachable",
							   .user = "bob",
							   .uid = "1001",
							   .service = "telnet",
							   .pam_service = "login",
							   .src_ip = "192.0.2.7",
							   .src_port = "50022",
							   .tty = "pts/3",
							   .pid = "77",
							   .error = "Connection refused",
							   .msg = "session not recorded" });
	ck_assert_int_gt(event_format_syslog(buf, sizeof(buf), &e, LOG_AUTHPRIV, "NODE", "sessrec", &ts), 0);
	snprintf(want, sizeof(want),
		 "<84>1 2026-11-22T10:00:00.123456+00:00 NODE sessrec %d session_skipped [relay@55555 "
		 "reason=\"daemon_unreachable\" user=\"bob\" uid=\"1001\" service=\"telnet\" "
		 "pam_service=\"login\" src_ip=\"192.0.2.7\" src_port=\"50022\" tty=\"pts/3\" pid=\"77\" "
		 "error=\"Connection refused\"] session not recorded",
		 (int)getpid());
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_default_host)
{
	struct event e = { .type = EVENT_SESSION_STARTED };
	char buf[512], host[256] = "", field[300];

	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_int_gt(event_format_syslog(buf, sizeof(buf), &e, LOG_LOCAL0, NULL, "sessrec", NULL), 0);
	ck_assert_int_eq(sscanf(buf, "<%*d>1 %*s %299s", field), 1);
	ck_assert_str_eq(field, host);
}
END_TEST

START_TEST(test_devlog)
{
	char dir[] = "/tmp/test_event.XXXXXX", path[64], buf[4096], want[1024];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct event e = { .type = EVENT_ATTACH_REFUSED, .msg = "token already used" };
	char host[256];
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	ck_assert_int_eq(event_send_devlog(path, &e, LOG_LOCAL0, "h", "sessrec"), -ENOENT);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	event_add(&e, "uid", "1000");
	ck_assert_int_eq(event_send_devlog(path, &e, LOG_LOCAL0, "h", "sessrec"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	snprintf(want, sizeof(want), " h sessrec %d attach_refused [relay@55555 uid=\"1000\"] token already used",
		 (int)getpid());
	ck_assert_str_eq(buf + 39, want); /* after "<132>1 " and the timestamp */
	ck_assert(strncmp(buf, "<132>1 ", 7) == 0);
	/* Empty host: the machine's name, as syslog(3) would put it. */
	ck_assert_int_eq(event_send_devlog(path, &e, LOG_LOCAL0, "", "sessrec"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_ptr_nonnull(strstr(buf, host));
	close(fd);
	unlink(path);
	/* A socket file nobody reads any more. */
	ck_assert_int_eq(event_send_devlog(path, &e, LOG_LOCAL0, "h", "sessrec"), -ENOENT);
	ck_assert_int_eq(event_send_devlog("", &e, LOG_LOCAL0, "h", "sessrec"), -EINVAL);
	rmdir(dir);
}
END_TEST

static Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_table, 0, sizeof(table) / sizeof(table[0]));
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_add);
	tcase_add_test(tc, test_seed_line);
	tcase_add_test(tc, test_session_skipped);
	tcase_add_test(tc, test_default_host);
	tcase_add_test(tc, test_devlog);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(event_suite());
}
