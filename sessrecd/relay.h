/* relay: the byte pump of one attached session, outer tty <-> inner pty
 * master, with per-direction buffers and back-pressure (a slow terminal
 * stalls only its own session), window-size tracking, hangup and EOF
 * handling. It records what it moves through the session's recorder and
 * reports the ends it sees upward through one callback; it never decides
 * a session's phase. Its buffers and counters live in a memfd (relaymem.h)
 * that the holder keeps too, so a daemon started after a kill -9 resumes
 * from the exact byte (relaytake.h). Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "relaydisk.h"
#include "relaymem.h"

struct daemon;
struct recording;
struct session_state;
struct state_pending;
struct state_sync;

#define RELAY_TO_OUTER_MAX RELAYMEM_OUT_CAP /* output waiting for a slow terminal or the disk */
#define RELAY_TO_INNER_MAX RELAYMEM_IN_CAP  /* input waiting for the shell */
#define RELAY_DRAIN_MS 5000                 /* output flush after the shell exited */
#define RELAY_CLOSE_MS 2000                 /* inner EOF wait after PAM's close */

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
	struct relaymem mem;   /* buffers and counters (fd -1 while off) */
	struct relaydisk disk; /* which output is on disk, the anchor, the wait for the writer */
	const char *reason;    /* why the inner side ended (draining) */
	int64_t drain_deadline_ms;
	int64_t close_deadline_ms; /* PAM closed: the inner side has until then */
};

/* Binds r (no fds yet) to its session's state and recording. */
void relay_init(struct relay *r, struct daemon *d, struct session_state *st, struct state_sync *sync,
		struct recording *rec, relay_report_fn report, void *userdata);

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

/* For relaytake.c: input nobody will read is dropped. */
void relay_drop_input(struct relay *r);

/* The writer performed entries: relays waiting for their lines to be on
 * disk (d->disk_waiting) go on. */
void relay_disk_progress(struct daemon *d);

/* The writer was stopped with every line on disk: nothing waits for it. */
void relay_disk_all_done(struct relay *r);

/* Copies the bytes read but not yet written (both directions) into p, for
 * a handoff. 0 or -ENOMEM. */
int relay_pending(const struct relay *r, struct state_pending *p);

/* Stops the relay for a handoff: fds unwatched and closed, the terminal's
 * modes left as they are (the session goes on), buffers freed. */
void relay_detach(struct relay *r);
