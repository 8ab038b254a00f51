/* relay: the byte pump of one attached session, outer tty <-> inner pty
 * master, with per-direction buffers and back-pressure (a slow terminal
 * stalls only its own session), window-size tracking, hangup and EOF
 * handling. Convention: 0 or -errno. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct session;
struct state_pending;

#define RELAY_TO_OUTER_MAX (64 * 1024) /* output waiting for a slow terminal */
#define RELAY_TO_INNER_MAX (16 * 1024) /* input waiting for the shell */
#define RELAY_DRAIN_MS 5000            /* output flush after the shell exited */
#define RELAY_CLOSE_MS 2000            /* inner EOF wait after PAM's close */

/* Takes over a session's terminals: reopens the outer tty (outer, the fd
 * the peer sent, is closed on success) for a private non-blocking file
 * description, makes the inner master non-blocking, saves the outer modes
 * and puts the tty in raw mode, reads the window size. On success the
 * session holds both fds; on failure nothing was changed, the caller still
 * owns both, and why says what failed. */
int relay_attach(struct daemon *d, struct session *s, int outer, int master, char *why, size_t cap);

/* Starts watching the session's fds (after the header is queued). */
void relay_start(struct daemon *d, struct session *s);

/* Re-registers the session's fds for what it can do now. */
void relay_update(struct daemon *d, struct session *s);

/* Window size, PAM-close and drain deadlines, hangup of a paused tty. */
void relay_tick(struct daemon *d, struct session *s, int64_t now);

/* PAM closed the session: give the inner side RELAY_CLOSE_MS to reach EOF. */
void relay_closing(struct daemon *d, struct session *s, int64_t now);

/* Stops the relay: fds unwatched and closed (the outer tty's modes
 * restored first), buffers freed. */
void relay_stop(struct daemon *d, struct session *s);

/* One non-blocking attempt to hand pending output to the terminal
 * (shutdown). */
void relay_flush_once(struct session *s);

/* Resumes the relay of a session an earlier daemon handed over: outer is
 * the tty (the earlier daemon's own non-blocking description, already raw,
 * its saved modes in the state), inner the inner master or -1 when the
 * shell was already gone (the session then drains). The pending bytes of p
 * go out before anything new. On success both fds are the session's; on
 * failure they stay the caller's and why says what failed. */
int relay_resume(struct daemon *d, struct session *s, int outer, int inner, const struct state_pending *p,
		 char *why, size_t cap);

/* Copies the bytes read but not yet written (both directions) into p, for
 * a handoff. 0 or -ENOMEM. */
int relay_pending(const struct session *s, struct state_pending *p);

/* Stops the relay for a handoff: fds unwatched and closed, the terminal's
 * modes left as they are (the session goes on), buffers freed. */
void relay_detach(struct daemon *d, struct session *s);
