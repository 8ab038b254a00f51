/* event: the lifecycle events every component announces (session_started,
 * session_recorded, ...), one definition of their names, MESSAGE_IDs and
 * syslog rendering, the one builder of session_skipped (sessrecd and
 * pam_sessrec both emit it) and the two targets both send to (the syslog
 * socket, PID 1's stdout). sessrecd/emit.c picks the targets for the daemon.
 * Convention: length / 0 or -errno. */
#pragma once
#include <stddef.h>
#include <time.h>
#include "rfc5424.h"

enum event_type {
	EVENT_SESSION_STARTED,
	EVENT_SESSION_RECORDED,
	EVENT_SESSION_SKIPPED,
	EVENT_SESSION_UNATTACHED,
	EVENT_SESSION_COMMAND,
	EVENT_SESSION_RESUMED,
	EVENT_ATTACH_REFUSED,
	EVENT_SHARD_LOST,         /* a shard file was removed under live sessions */
	EVENT_RECORDING_DEGRADED, /* a session's lines cannot be written (disk full, I/O error) */
	EVENT_RECORDING_RESUMED,  /* ... and can again, behind a loss marker */
	EVENT_SESSION_TRUNCATED,  /* a session reached SessionMaxBytes=: its output is no longer recorded */
	EVENT_SHARD_DIR_UNSAFE,   /* the shard filesystem is one users can write (fill) */
	/* deploy: enforcement of fail=closed and of the shim as login shell */
	EVENT_SESSION_TERMINATED, /* fail=closed: a login not recorded (never attached, recording failed) was ended */
	EVENT_DEPLOYMENT_ERROR,   /* a recorded sshd login whose shell is not the shim (pam_sessrec) */
	/* retention (sessrecctl prune) */
	EVENT_SHARD_COMPRESSED, /* a shard past CompressAfterDays= was gzipped */
	EVENT_SHARD_DELETED,    /* a shard past KeepDays= or over MaxStoreSize= was deleted */
	EVENT_SESSION_REFUSED,    /* a pty-less command NoTtyCommands= does not allow was refused */
	_EVENT_MAX,
};

#define EVENT_SDID "relay@55555"
#define EVENT_PARAMS_MAX 24

struct event {
	enum event_type type;
	struct rfc5424_param params[EVENT_PARAMS_MAX]; /* sid, user, service, src_ip, ... */
	size_t nparams;
	const char *msg; /* human-readable one line, may be NULL */
};

const char *event_name(enum event_type t);       /* "session_started" */
const char *event_message_id(enum event_type t); /* fixed 128-bit id, 32 hex chars */
int event_priority(enum event_type t);           /* LOG_INFO, LOG_WARNING, ... */

/* Appends name=value (value copied? no: borrowed, must outlive the event);
 * silently ignores parameters past EVENT_PARAMS_MAX or with NULL value. */
void event_add(struct event *e, const char *name, const char *value);

/* The RFC 5424 line for e (facility from fac, e.g. LOG_LOCAL0 or LOG_AUTHPRIV),
 * compatible with seed 000: PRI fac + event_priority, HOSTNAME host (NULL or
 * empty: gethostname()), APP-NAME app, PROCID getpid(), MSGID the event name,
 * SD-ID EVENT_SDID with the params in order (a param that does not fit whole
 * is left out; MSG is clipped), ts NULL: now. Returns the length, -ENOSPC, or
 * -EINVAL for an unknown type or facility. */
int event_format_syslog(char *buf, size_t cap, const struct event *e, int fac, const char *host, const char *app,
			const struct timespec *ts);

/* Sends e as one RFC 5424 datagram (at most 4096 bytes) to the syslog socket
 * at path (/dev/log), non-blocking, timestamped now; 0 or -errno. */
int event_send_devlog(const char *path, const struct event *e, int fac, const char *host, const char *app);

/* Sends e as one RFC 5424 line plus newline, in one write, to PID 1's stdout
 * (/proc/1/fd/1: a container's log stream), non-blocking, timestamped now;
 * 0, -EIO when the write fell short, or -errno. */
int event_send_pid1(const struct event *e, int fac, const char *host, const char *app);

/* Sends e to the systemd journal (sd_journal_sendv): MESSAGE (e->msg, or
 * "name: k=v ..."), MESSAGE_ID, PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER
 * app, SESSREC_EVENT and one SESSREC_<NAME> field per parameter (a field
 * that does not fit 8 KiB is left out). 0 or -errno. */
int event_send_journal(const struct event *e, int fac, const char *app);

/* What a session_skipped says; each field NULL is left out. uid, src_port
 * and pid are decimal strings. */
struct event_skipped {
	const char *reason; /* disk_pressure, session_limit, daemon_unreachable, ... */
	const char *user, *uid;
	const char *service; /* ssh, telnet, ... (the open's proto) */
	const char *pam_service;
	const char *src_ip, *src_port;
	const char *tty, *pid;
	const char *error; /* the detail behind reason */
	const char *msg;   /* the line's MSG */
};

/* Fills e as session_skipped with the fields of s, in the one order both
 * sessrecd and pam_sessrec send them (reason user uid service pam_service
 * src_ip src_port tty pid error). The strings are borrowed (see event_add). */
void event_session_skipped(struct event *e, const struct event_skipped *s);
