/* emit: sends one event to every configured target (see emit.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "emit.h"
#include "log.h"

#define EMIT_LINE_MAX 4096

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

static void emit_journal(struct daemon *d, const struct event *e)
{
	(void)event_send_journal(e, d->cfg.facility, d->cfg.app_name);
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
