/* session: the registry of sessions and the ONE place their lifecycle is
 * decided (s->phase is assigned only in session.c), one-time tokens, the
 * state files. The relay and the recorder below it do the work and report
 * back (relay.h's callback, return codes); attach, ops, resume and the
 * service above it trigger the transitions named here.
 *
 * The states and transitions (who triggers each):
 *
 *   (new) --session_new (op open)--> OPEN
 *   OPEN --session_attach_tty (attach with the tty's fd)--> RELAYING
 *   OPEN --session_attach_command (attach with cmd and 3 fds)--> COMMAND
 *   OPEN --session_refuse_command (NoTtyCommands= refused cmd)--> ENDED
 *   OPEN --session_attach_dry_run (attach, dry run)--> DRYRUN
 *   (state file) --session_adopt (resume)--> RELAYING, no fds yet;
 *        --session_resumed--> RELAYING, or DRAINING when the shell was gone
 *   RELAYING --relay reports RELAY_INNER_EOF (shell exited, or hung up
 *        RELAY_CLOSE_MS after PAM's close)--> DRAINING
 *   RELAYING, DRAINING --session_end: relay reports RELAY_END (terminal
 *        hung up, output drained, drain deadline, error); SIGTERM
 *        (session_stop); lost at resume (session_end_lost)--> FINISHING
 *   COMMAND --session_end: relaypipe reports its end (stdout and stderr
 *        closed and taken, a side gone, PAM's close); SIGTERM--> FINISHING
 *   RELAYING, DRAINING --session_detach (handoff at SIGTERM)--> (freed)
 *   FINISHING --writer wrote the end line (session_writer_progress)-->
 *        ENDED, or freed when a close waits (it is answered "recorded")
 *   OPEN --TokenTimeoutSec passed without an attach (session_tick): the
 *        session_unattached alert at once--> UNATTACHED (under fail=closed
 *        its login is ended too: enforce.h)
 *   OPEN, DRYRUN, ENDED, UNATTACHED --op close, expiry
 *        (session_tick)--> (freed)
 *
 * The lookups, counts, phase names and event params are in sessionreg.c.
 * Convention: 0 or -errno; lookups return NULL when nothing matches. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "enforce.h"
#include "event.h"
#include "proto.h"
#include "recorder.h"
#include "relay.h"
#include "relaypipe.h"
#include "state.h"

enum session_phase {
	SESSION_OPEN,      /* registered by PAM; its token waits for the attach */
	SESSION_RELAYING,  /* attached: relaying and recording */
	SESSION_DRAINING,  /* inner side at EOF: flushing output to the outer tty */
	SESSION_FINISHING, /* end line queued; waiting for the writer to write it */
	SESSION_ENDED,     /* recorded; kept until PAM's close (or expiry) */
	SESSION_COMMAND,   /* a command without a pty: its stdin, stdout, stderr relayed (relaypipe) */
	SESSION_DRYRUN,    /* attached in dry-run mode: nothing relayed or recorded */
	/* not attached within TokenTimeoutSec=: alerted at once; waits for PAM's
	 * close or its opener's end, and holds no slot */
	SESSION_UNATTACHED,
};

/* A phase that holds a slot (MaxSessions=, MaxSessionsPerUser=). */
static inline bool session_phase_live(enum session_phase p)
{
	return p == SESSION_OPEN || p == SESSION_RELAYING || p == SESSION_DRAINING || p == SESSION_FINISHING ||
	       p == SESSION_COMMAND;
}

/* A phase whose relay runs (a terminal session, before its end). */
static inline bool session_phase_relaying(enum session_phase p)
{
	return p == SESSION_RELAYING || p == SESSION_DRAINING;
}

struct session_waiter;
/* The session w waited for ended (state "recorded"); w no longer waits. */
typedef void (*session_waiter_fn)(struct session_waiter *w, const char *sid, const char *state);

/* Someone waiting for a session's end (a close request) or for its output
 * drained (the attach), embedded in it. */
struct session_waiter {
	struct session *s; /* the session waited for; NULL: none */
	session_waiter_fn ended;
};

struct session {
	struct session *prev, *next;
	struct session *dirty_prev, *dirty_next; /* on d->dirty while finishing */
	bool on_dirty;
	struct daemon *d;
	uint64_t serial; /* names the session in the writer's reports */
	enum session_phase phase;
	struct session_state st; /* everything a restart needs, serialisable */
	struct state_sync sync;  /* whether the state file lags behind st */
	/* registration */
	char token[PROTO_TOKEN_LEN + 1];
	bool token_spent;
	int64_t opened_ms;      /* monotonic: the token's age */
	int64_t opened_sec;     /* realtime */
	const char *end_reason; /* draining: why the inner side ended; finishing: why it ended */
	int64_t ended_ms;
	struct relay relay;
	struct recording rec;
	struct session_waiter *closer;  /* a close request waiting for the end */
	struct session_waiter *drainer; /* the attach connection waiting for "drained" */
	struct enforce enforce;         /* fail=closed: its login being ended (enforce.h) */
	struct relaypipe pipe;          /* COMMAND: the command's three pipes */
	bool recorded_due;              /* session_recorded waits for the end line's checkpoint (chain.h) */
};

/* A new session in phase OPEN with a fresh sid and token, linked into the
 * registry; NULL on failure (errno set). */
struct session *session_new(struct daemon *d);

/* A session rebuilt from the state an earlier daemon left: phase
 * RELAYING without fds yet, no token; NULL (errno set) on failure or when
 * the sid is taken. */
struct session *session_adopt(struct daemon *d, const struct session_state *st);

/* Unlinks and frees s: its relay fds, buffers and shard reference go; a
 * waiter for its end is let go without an answer. */
void session_free(struct daemon *d, struct session *s);

struct session *session_by_sid(struct daemon *d, const char *sid);
/* The session that issued token (spent or not), compared in constant time. */
struct session *session_by_token(struct daemon *d, const char *token);
struct session *session_by_serial(struct daemon *d, uint64_t serial);

/* Sessions that count against MaxSessions= (open, relaying, draining,
 * finishing) and those with a relay (relaying, draining). */
unsigned session_live_count(const struct daemon *d);
unsigned session_relay_count(const struct daemon *d);

/* The session_recorded event of s (sessionreg.c): its counts, losses, the
 * withheld flag and the chain's off-box anchor. */
void session_emit_recorded(struct daemon *d, struct session *s, const char *reason);

/* The sessions of uid that count against MaxSessions= (a walk of the
 * registry: opens are rare, the relay's path never asks). */
unsigned session_user_count(const struct daemon *d, int64_t uid);

/* "open", "recording", ... as list shows them. */
const char *session_phase_name(enum session_phase p);

/* The params every event about s starts with: sid user uid service (the
 * protocol, as seed 000's syslog carries it) pam_service src_ip. uid is a
 * caller buffer of 24 bytes that must outlive e. */
void session_event_base(const struct session *s, struct event *e, char *uid);

/* The session_unattached alert for s (a registration that never
 * attached): kind says why it is raised (no_shell, sftp, token_expired,
 * opener_gone...). */
void session_emit_unattached(struct daemon *d, const struct session *s, const char *kind);

/* OPEN -> RELAYING: the daemon makes the inner pty (its slave in
 * *slave, for the attach reply; the caller closes it once sent), the
 * recording begins, the relay takes the outer tty outer (the fd the peer
 * sent; it stays the caller's; hung up first when hangup) from the user,
 * the state file is
 * queued and the holder gets the fds. On failure *slave is -1 and why
 * says what failed: s stays OPEN with the terminal untouched, or, when
 * taking the terminal failed, it ends at once (FINISHING, "error"). */
int session_attach_tty(struct daemon *d, struct session *s, int outer, bool hangup, int *slave, char *why, size_t cap);

/* OPEN -> COMMAND: the command in s->st.cmd runs without a pty; fds
 * (sshd's stdin, stdout, stderr; set to -1 once taken) are relayed through
 * three pipes whose command ends go into cmd_fds (the caller sends and
 * closes them), and recorded ("i", "o", "e"; a transfer as metadata under
 * TransferContent=metadata). On failure s stays OPEN and why says what
 * failed (fds taken by then are closed: the shim keeps its own copies). */
int session_attach_command(struct daemon *d, struct session *s, int *fds, int cmd_fds[RELAYPIPE_NCHAN], char *why,
			   size_t cap);

/* OPEN -> ENDED: NoTtyCommands= refused the command in s->st.cmd; its
 * recording holds the header, a marker saying why, and the end line. */
void session_refuse_command(struct daemon *d, struct session *s, const char *why);

/* OPEN -> DRYRUN: nothing is relayed or recorded. */
void session_attach_dry_run(struct session *s);

/* A session from session_adopt whose relay and recording were resumed:
 * RELAYING, or DRAINING when it has no inner master; the holder gets its
 * fds unless held (its relay state memfd unless state_held), the relay
 * starts and the state file is queued. */
void session_resumed(struct daemon *d, struct session *s, bool held, bool state_held);

/* RELAYING, DRAINING -> FINISHING: the relay stops (outer modes restored,
 * inner master closed), the holder lets go, the end line is queued,
 * session_recorded is emitted, the state file goes. reason: exit, hangup,
 * close, shutdown, error, lost. A no-op in other phases. */
void session_end(struct daemon *d, struct session *s, const char *reason);

/* SIGTERM or a failed handoff: one last try to hand pending output to the
 * terminal, then session_end with "shutdown" (or the draining reason). */
void session_stop(struct daemon *d, struct session *s);

/* A session no daemon can go on with (its fds are gone): adopted from st
 * and ended with reason "lost", as of stop_ns (CLOCK_MONOTONIC). */
void session_end_lost(struct daemon *d, const struct session_state *st, int64_t stop_ns);

/* RELAYING, DRAINING -> (freed): handed over to the next daemon; its
 * state must be written already (session_save_handoff). The fds are closed
 * without touching the terminal. */
void session_detach(struct daemon *d, struct session *s);

/* w waits for the end of s (relaying, draining or finishing); the relay
 * gives the inner side RELAY_CLOSE_MS. -EBUSY when another waits already. */
int session_wait_end(struct session *s, struct session_waiter *w, int64_t now);

/* w (the attach's connection) hears "recorded" when s ends: a tty
 * session (relaying or draining) when it stops relaying (its output has
 * all been written to the outer tty, which is given back), a command
 * once its end line is written (sessrecd(8), "drained"). -ESRCH when s
 * relays no more (the caller says so at once), -EBUSY when another waits
 * already. */
int session_wait_drained(struct session *s, struct session_waiter *w);

/* w no longer waits (its connection went). */
void session_unwait(struct session_waiter *w);

/* The writer reported progress: relays waiting for it go on; only the
 * sessions on the dirty list are looked at; finishing ones whose end line
 * is written answer their waiting close and become ENDED (or go). */
void session_writer_progress(struct daemon *d);

/* The writer was stopped, every queued line on disk: relays wait for
 * nothing, finishing sessions answer their waiting close ("recorded") and
 * count their end line as written (end_seq 0) for a writer started later;
 * they stay FINISHING. */
void session_writer_stopped(struct daemon *d);

/* Queues the state file of s (at attach, on truncation, periodically). */
void session_save(struct daemon *d, struct session *s);

/* The state of a relaying session as a handoff writes it (with its
 * pending bytes, handoff_ns = now_ns), queued to the writer. 0 or -errno. */
int session_save_handoff(struct daemon *d, struct session *s, int64_t now_ns);

/* The holder gets duplicates of the fds of s (relaying, draining) and of
 * its relay state memfd. */
void session_hold(struct daemon *d, struct session *s);

/* The tick: relays' window sizes and deadlines, state files; with house
 * also expiries: open sessions not attached within TokenTimeoutSec= become
 * UNATTACHED with a session_unattached alert (kind token_expired) while
 * their login goes on; ended sessions nobody closed, and open or
 * unattached ones whose opener is gone, are freed. */
void session_tick(struct daemon *d, int64_t now, bool house);

/* The same pass in slices of at most max sessions, so that a tick over
 * 1,900 sessions (a TIOCGWINSZ each, ~1 us) does not hold the loop for
 * milliseconds while one of them echoes: each call goes on with the pass
 * under way, or starts one (house: with the expiries), and says whether
 * the pass is over. A session freed meanwhile is stepped over. */
bool session_tick_some(struct daemon *d, int64_t now, bool house, unsigned max);

/* SIGTERM: every relaying session ends with reason "shutdown". */
void session_shutdown(struct daemon *d);
