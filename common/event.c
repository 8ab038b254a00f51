/* event: the table of lifecycle events (name, journal MESSAGE_ID, severity),
 * their RFC 5424 rendering and the syslog-socket and PID 1 targets, shared by
 * sessrecd and pam_sessrec. Convention: length / 0 or -errno. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "event.h"

#define EVENT_LINE_MAX 4096 /* one datagram; rsyslog's default limit is 8k */
#define EVENT_JOURNAL_MAX 8192

static const struct {
	const char *name;
	const char *message_id; /* fixed forever: journalctl MESSAGE_ID= matches on it */
	int priority;
} events[_EVENT_MAX] = {
	[EVENT_SESSION_STARTED] = { "session_started", "77fa396960954dc69d17ae1628c43ff8", LOG_INFO },
	[EVENT_SESSION_RECORDED] = { "session_recorded", "226abbfcb8604af8821b77e5eb8f9a4a", LOG_INFO },
	[EVENT_SESSION_SKIPPED] = { "session_skipped", "11adcfb476c34eb3b7d825782b5a316f", LOG_WARNING },
	[EVENT_SESSION_UNATTACHED] = { "session_unattached", "7464e464747f4de6a98cbf5e3667617a", LOG_WARNING },
	[EVENT_SESSION_COMMAND] = { "session_command", "6d5f5c3796784b53bb4399e092f041a5", LOG_INFO },
	[EVENT_SESSION_RESUMED] = { "session_resumed", "d570812f2fbc4eaf87f2adfd4c02e76d", LOG_INFO },
	[EVENT_ATTACH_REFUSED] = { "attach_refused", "9df518a395984c7ea605621c90d8d0ff", LOG_WARNING },
	[EVENT_SHARD_LOST] = { "shard_lost", "136861da6dcb4da1a315930af19ba052", LOG_ALERT },
	[EVENT_RECORDING_DEGRADED] = { "recording_degraded", "2c15a69c7acc477f867e57611a3347f7", LOG_ALERT },
	[EVENT_RECORDING_RESUMED] = { "recording_resumed", "2d2645c4e2204f90830e4c24e3b4cd46", LOG_WARNING },
	[EVENT_SESSION_TRUNCATED] = { "session_truncated", "6d4a6b01839141a28fe937fd2cab5b06", LOG_WARNING },
	[EVENT_SHARD_DIR_UNSAFE] = { "shard_dir_unsafe", "46c73ccf1a984ee49ac2cec0546d7583", LOG_WARNING },
	[EVENT_SESSION_TERMINATED] = { "session_terminated", "7175e30f6e2c4014bc4a6942ceb78770", LOG_ALERT },
	[EVENT_DEPLOYMENT_ERROR] = { "deployment_error", "29ec8db0d5ab4a8498737b5acfa990fe", LOG_ALERT },
	[EVENT_SHARD_COMPRESSED] = { "shard_compressed", "f0c9a4d6ec3d4766a6b3e9e6d23835d6", LOG_INFO },
	[EVENT_SHARD_DELETED] = { "shard_deleted", "de15f4bf178e4d59ba9e7dcdd4130ced", LOG_NOTICE },
	[EVENT_SESSION_REFUSED] = { "session_refused", "894b657f568948bc90a8c0971efb4362", LOG_WARNING },
};

static bool known(enum event_type t)
{
	return (unsigned)t < _EVENT_MAX;
}

const char *event_name(enum event_type t)
{
	return known(t) ? events[t].name : NULL;
}

const char *event_message_id(enum event_type t)
{
	return known(t) ? events[t].message_id : NULL;
}

int event_priority(enum event_type t)
{
	return known(t) ? events[t].priority : LOG_NOTICE;
}

void event_add(struct event *e, const char *name, const char *value)
{
	if (!name || !value || e->nparams >= EVENT_PARAMS_MAX)
		return;
	e->params[e->nparams].name = name;
	e->params[e->nparams].value = value;
	e->nparams++;
}

int event_format_syslog(char *buf, size_t cap, const struct event *e, int fac, const char *host, const char *app,
			const struct timespec *ts)
{
	char procid[24], hostbuf[256];
	int pri;

	if (!known(e->type) || (fac & ~LOG_FACMASK) || LOG_FAC(fac) > 23)
		return -EINVAL;
	pri = fac | events[e->type].priority;
	if (!host || !*host) {
		if (gethostname(hostbuf, sizeof(hostbuf)) < 0)
			hostbuf[0] = '\0';
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		host = hostbuf;
	}
	snprintf(procid, sizeof(procid), "%ld", (long)getpid());
	return rfc5424_format(buf, cap, pri, ts, host, app, procid, events[e->type].name, EVENT_SDID, e->params,
			      e->nparams, e->msg);
}

int event_send_devlog(const char *path, const struct event *e, int fac, const char *host, const char *app)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[EVENT_LINE_MAX];
	size_t plen = path ? strlen(path) : 0;
	int fd, n, r = 0;

	if (plen == 0)
		return -EINVAL;
	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen + 1);
	n = event_format_syslog(line, sizeof(line), e, fac, host, app, NULL);
	if (n < 0)
		return n;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Never wait for a stuck syslog daemon: a lost line beats a hung login. */
	if (sendto(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int event_send_pid1(const struct event *e, int fac, const char *host, const char *app)
{
	char line[EVENT_LINE_MAX + 1];
	int fd, n, r = 0;

	n = event_format_syslog(line, EVENT_LINE_MAX, e, fac, host, app, NULL);
	if (n < 0)
		return n;
	line[n++] = '\n';
	fd = open("/proc/1/fd/1", O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write: never interleaved with other lines; never waits on a
	 * stuck reader (a lost line beats a stalled daemon or login). */
	if (write(fd, line, (size_t)n) != n)
		r = -EIO;
	close(fd);
	return r;
}

/* "session_started: sid=... user=..." when the event has no text of its own. */
static void journal_message(const struct event *e, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", event_name(e->type));

	for (size_t i = 0; i < e->nparams && n + 1 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s=%s", i ? " " : ": ", e->params[i].name,
				      e->params[i].value);
}

int event_send_journal(const struct event *e, int fac, const char *app)
{
	char buf[EVENT_JOURNAL_MAX], msg[2048];
	struct iovec iov[EVENT_PARAMS_MAX + 8];
	size_t niov = 0, used = 0;

	if (!known(e->type))
		return -EINVAL;
	if (e->msg)
		snprintf(msg, sizeof(msg), "%s", e->msg);
	else
		journal_message(e, msg, sizeof(msg));

		/* Each field is "NAME=value" in buf; a field that does not fit is left out. */
#define FIELD(...)                                                                                     \
	do {                                                                                           \
		int k_ = snprintf(buf + used, sizeof(buf) - used, __VA_ARGS__);                        \
		if (k_ > 0 && (size_t)k_ < sizeof(buf) - used) {                                       \
			iov[niov++] = (struct iovec){ .iov_base = buf + used, .iov_len = (size_t)k_ }; \
			used += (size_t)k_;                                                            \
		}                                                                                      \
	} while (0)

	FIELD("MESSAGE=%s", msg);
	FIELD("MESSAGE_ID=%s", event_message_id(e->type));
	FIELD("PRIORITY=%d", event_priority(e->type));
	FIELD("SYSLOG_FACILITY=%d", LOG_FAC(fac));
	FIELD("SYSLOG_IDENTIFIER=%s", app);
	FIELD("SESSREC_EVENT=%s", event_name(e->type));
	for (size_t i = 0; i < e->nparams; i++) {
		char name[64];
		size_t k;

		for (k = 0; e->params[i].name[k] && k < sizeof(name) - 1; k++)
			name[k] = (char)toupper((unsigned char)e->params[i].name[k]);
		name[k] = '\0';
		FIELD("SESSREC_%s=%s", name, e->params[i].value);
	}
#undef FIELD
	return sd_journal_sendv(iov, (int)niov);
}

void event_session_skipped(struct event *e, const struct event_skipped *s)
{
	*e = (struct event){ .type = EVENT_SESSION_SKIPPED, .msg = s->msg };
	event_add(e, "reason", s->reason);
	event_add(e, "user", s->user);
	event_add(e, "uid", s->uid);
	event_add(e, "service", s->service);
	event_add(e, "pam_service", s->pam_service);
	event_add(e, "src_ip", s->src_ip);
	event_add(e, "src_port", s->src_port);
	event_add(e, "tty", s->tty);
	event_add(e, "pid", s->pid);
	event_add(e, "error", s->error);
}
