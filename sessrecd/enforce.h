/* enforce: fail=closed made real by the daemon (sessrecd(8), "Unattached and
 * failing sessions"): a login that cannot be recorded (its registration
 * never attached, its recording failed) is ended: SIGTERM, then SIGKILL
 * after ENFORCE_GRACE_MS, to every process of its audit session and to its
 * opener; logged once and announced by session_terminated.
 * Convention: counts of processes signalled, or -errno. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"
#include "event.h"
#include "state.h"

#define ENFORCE_GRACE_MS 2000

/* One session's enforcement, embedded in struct session (zero: none). */
struct enforce {
	int64_t kill_ms; /* CLOCK_MONOTONIC ms when SIGKILL is due; 0: not begun */
	bool killed;     /* SIGKILL sent: done */
};

/* Whether the process pid, whose audit session is pid_audit (-1: unknown),
 * belongs to the login of opener and audit: its audit session (when the
 * kernel gave one, and it is not the daemon's own, self_audit), or the
 * opener itself; never pid 1, never the daemon (self). Pure. */
bool enforce_target(pid_t pid, int64_t pid_audit, pid_t opener, int64_t audit, pid_t self, int64_t self_audit);

/* Sends sig to every process of the login (enforce_target, over /proc).
 * The count signalled, or -errno when /proc cannot be read (the opener is
 * signalled anyway). */
int enforce_signal_login(pid_t opener, int64_t audit, int sig);

/* Begins ending the login of st for reason (unattached, recording_failed):
 * SIGTERM now, one log line, the session_terminated event e (its base
 * params filled by the caller; reason and signalled are added here).
 * A no-op unless st->fail_closed, and when begun already. */
void enforce_begin(struct daemon *d, struct enforce *en, const struct session_state *st, const char *reason,
		   struct event *e, int64_t now);

/* The tick: SIGKILL once the grace has passed (now: monotonic ms, or
 * INT64_MAX to send it at once, as when the session goes). */
void enforce_tick(struct enforce *en, const struct session_state *st, int64_t now);
