/* emit: sends one event to every configured target (see emit.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "daemon.h"
#include "emit.h"
#include "log.h"

#define EMIT_LINE_MAX 4096
#define EMIT_JOURNAL_MAX 8192

/* Targets=stdout: one RFC 5424 line plus newline, written by one write().
 * A reader that does not keep up loses lines, counted; the count goes to
 * the daemon's log (not into the event stream, whose readers parse it) once
 * stdout takes lines again. */
static void emit_stdout(struct daemon *d, const struct event *e)
{
	char line[EMIT_LINE_MAX + 1];
	unsigned long dropped = 0;
	int n = event_format_syslog(line, EMIT_LINE_MAX, e, d->cfg.facility, d->cfg.hostname, d->cfg.app_name, NULL);

	if (n < 0)
		return;
	line[n++] = '\n';
	if (log_out_line(&d->event_out, STDOUT_FILENO, line, (size_t)n, &dropped) && dropped)
		log_line("%lu event line%s to stdout dropped (stdout was not taking them)", dropped,
			 dropped == 1 ? "" : "s");
}

static void emit_pid1(struct daemon *d, const struct event *e)
{
	(void)event_send_pid1(e, d->cfg.facility, d->cfg.hostname, d->cfg.app_name);
}

/* "session_started: sid=... user=..." when the event has no text of its own. */
static void journal_message(const struct event *e, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", event_name(e->type));

	for (size_t i = 0; i < e->nparams && n + 1 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s=%s", i ? " " : ": ", e->params[i].name,
				      e->params[i].value);
}

static void emit_journal(struct daemon *d, const struct event *e)
{
	char buf[EMIT_JOURNAL_MAX], msg[2048];
	struct iovec iov[EVENT_PARAMS_MAX + 8];
	size_t niov = 0, used = 0;

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
	FIELD("SYSLOG_FACILITY=%d", LOG_FAC(d->cfg.facility));
	FIELD("SYSLOG_IDENTIFIER=%s", d->cfg.app_name);
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
	(void)sd_journal_sendv(iov, (int)niov);
}

void emit_event(struct daemon *d, const struct event *e)
{
	unsigned t = d->cfg.syslog_targets;

	if (d->emitter) {
		d->emitter->event(d->emitter, e);
		return;
	}
	if (t & SYSLOG_TARGET_JOURNAL)
		emit_journal(d, e);
	if (t & SYSLOG_TARGET_DEVLOG)
		(void)event_send_devlog(d->cfg.syslog_socket, e, d->cfg.facility, d->cfg.hostname, d->cfg.app_name);
	if (t & SYSLOG_TARGET_STDOUT)
		emit_stdout(d, e);
	if (t & SYSLOG_TARGET_PID1)
		emit_pid1(d, e);
}
