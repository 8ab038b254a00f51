/* session: the registry of sessions and their lifecycle (open -> relaying
 * -> draining -> finishing -> ended, or command / dry run), one-time
 * tokens, the events about a session, state files, expiry.
 * Convention: 0 or -errno; lookups return NULL when nothing matches. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "event.h"

/* A new session in phase OPEN with a fresh sid and token, linked into the
 * registry; NULL on failure (errno set). */
struct session *session_new(struct daemon *d);

/* A session rebuilt from the state an earlier daemon left: phase
 * RELAYING without fds yet, no token; NULL (errno set) on failure or when
 * the sid is taken. */
struct session *session_adopt(struct daemon *d, const struct session_state *st);

/* Unlinks and frees s: its relay fds, buffers and shard reference go; a
 * connection waiting for its end is let go without a reply. */
void session_free(struct daemon *d, struct session *s);

struct session *session_by_sid(struct daemon *d, const char *sid);
/* The session that issued token (spent or not), compared in constant time. */
struct session *session_by_token(struct daemon *d, const char *token);
struct session *session_by_serial(struct daemon *d, uint64_t serial);

/* Sessions that count against MaxSessions= (open, relaying, draining,
 * finishing) and those with a relay (relaying, draining). */
unsigned session_live_count(struct daemon *d);
unsigned session_relay_count(struct daemon *d);

/* "open", "recording", ... as list shows them. */
const char *session_phase_name(enum session_phase p);

/* Seconds since the session's start on the monotonic clock. */
double session_t(const struct session *s);

/* The params every event about s starts with: sid user uid service (the
 * protocol, as seed 000's syslog carries it) pam_service src_ip. uid is a
 * caller buffer of 24 bytes that must outlive e. */
void session_event_base(const struct session *s, struct event *e, char *uid);

/* Ends a relaying or draining session: the relay stops (outer modes
 * restored, inner master closed), the end line is queued, session_recorded
 * is emitted, the state file goes; the session waits in FINISHING for the
 * writer. reason: exit, hangup, close, shutdown, error. */
void session_end(struct daemon *d, struct session *s, const char *reason);

/* After the writer reported progress: finishing sessions whose end line is
 * written answer their pending close and become ENDED (or go). */
void session_writer_progress(struct daemon *d);

/* The writer was stopped, every queued line on disk: finishing sessions
 * answer their pending close ("recorded") and count their end line as
 * written (end_seq 0) for a writer started later; they stay FINISHING. */
void session_writer_stopped(struct daemon *d);

/* Queues the state file of s (at attach, on truncation, periodically). */
void session_save(struct daemon *d, struct session *s);

/* The tick: relays' window sizes and deadlines, state files; with house
 * also expiries (ended sessions nobody closed, open ones whose opener is
 * gone). */
void session_tick(struct daemon *d, int64_t now, bool house);

/* SIGTERM: every relaying session ends with reason "shutdown". */
void session_shutdown(struct daemon *d);
