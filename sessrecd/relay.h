/* relay: the byte pump of one attached session, outer tty <-> inner pty
 * master, with per-direction buffers and back-pressure (a slow terminal
 * stalls only its own session), window-size tracking, hangup and EOF
 * handling. It records what it moves through the session's recorder and
 * reports the ends it sees upward through one callback; it never decides
 * a session's phase. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct daemon;
struct recording;
struct session_state;
struct state_pending;
struct state_sync;

#define RELAY_TO_OUTER_MAX (64 * 1024) /* output waiting for a slow terminal */
#define RELAY_TO_INNER_MAX (16 * 1024) /* input waiting for the shell */
#define RELAY_DRAIN_MS 5000            /* output flush after the shell exited */
#define RELAY_CLOSE_MS 2000            /* inner EOF wait after PAM's close */

/* A relay direction's pending bytes; the memory exists only while needed. */
struct relay_buf {
	uint8_t *p;
	size_t start, end;
};

enum relay_mode {
	RELAY_OFF,      /* not started, or stopped */
	RELAY_RUNNING,  /* both directions */
	RELAY_DRAINING, /* the inner side is gone: what the terminal has not taken yet still goes */
};

/* What a relay reports to its owner. After RELAY_END the owner stops the
 * relay (relay_stop) before it returns. */
enum relay_event {
	RELAY_INNER_EOF, /* the inner side is done (reason: exit, close): draining starts */
	RELAY_END,       /* nothing more to relay (reason: exit, hangup, close, error) */
};

struct relay;
typedef void (*relay_report_fn)(struct relay *r, enum relay_event ev, const char *reason);

struct relay {
	struct daemon *d;
	struct session_state *st; /* counters, window size, saved modes, withhold */
	struct state_sync *sync;
	struct recording *rec;
	relay_report_fn report;
	void *userdata;
	enum relay_mode mode;
	int outer_fd, master_fd; /* -1: none; read-only outside relay.c */
	struct loop_io outer_io, master_io;
	struct relay_buf to_outer, to_inner;
	const char *reason; /* why the inner side ended (draining) */
	int64_t drain_deadline_ms;
	int64_t close_deadline_ms; /* PAM closed: the inner side has until then */
};

/* Binds r (no fds yet) to its session's state and recording. */
void relay_init(struct relay *r, struct daemon *d, struct session_state *st, struct state_sync *sync,
		struct recording *rec, relay_report_fn report, void *userdata);

/* Takes over a session's terminals: reopens the outer tty (outer, the fd
 * the peer sent, is closed on success) for a private non-blocking file
 * description, makes the inner master non-blocking, saves the outer modes
 * and puts the tty in raw mode, reads the window size. On success the
 * relay holds both fds; on failure nothing was changed, the caller still
 * owns both, and why says what failed. */
int relay_attach(struct relay *r, int outer, int master, char *why, size_t cap);

/* Starts watching the fds (after the header is queued): running, or
 * draining (reason "exit") when there is no inner master (resumed after the
 * shell went). May report RELAY_END at once. */
void relay_start(struct relay *r);

/* Re-registers the fds for what the relay can do now (the disk writer's
 * congestion included). */
void relay_update(struct relay *r);

/* Window size, PAM-close and drain deadlines, hangup of a paused tty. */
void relay_tick(struct relay *r, int64_t now);

/* PAM closed the session: give the inner side RELAY_CLOSE_MS to reach EOF. */
void relay_closing(struct relay *r, int64_t now);

/* Stops the relay: fds unwatched and closed (the outer tty's modes
 * restored first), buffers freed. Safe on a relay that has none. */
void relay_stop(struct relay *r);

/* One non-blocking attempt to hand pending output to the terminal
 * (shutdown). */
void relay_flush_once(struct relay *r);

/* Bytes read from the inner side that the terminal has not taken yet. */
size_t relay_output_pending(const struct relay *r);

/* Resumes the relay of a session an earlier daemon handed over: outer is
 * the tty (the earlier daemon's own non-blocking description, already raw,
 * its saved modes in the state), inner the inner master or -1 when the
 * shell was already gone (the relay then drains). The pending bytes of p
 * go out before anything new. On success both fds are the relay's; on
 * failure they stay the caller's and why says what failed. */
int relay_resume(struct relay *r, int outer, int inner, const struct state_pending *p, char *why, size_t cap);

/* Copies the bytes read but not yet written (both directions) into p, for
 * a handoff. 0 or -ENOMEM. */
int relay_pending(const struct relay *r, struct state_pending *p);

/* Stops the relay for a handoff: fds unwatched and closed, the terminal's
 * modes left as they are (the session goes on), buffers freed. */
void relay_detach(struct relay *r);
