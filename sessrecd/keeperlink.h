/* keeperlink: the daemon's side of the keeper (keeper.h says what the
 * keeper is and its protocol): starting one, finding the one a previous
 * daemon left, taking its sessions, telling it about sessions as they come
 * and go. Convention: 0 / fd / count or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KEEPERLINK_READY_MS 3000 /* how long a new keeper may take to listen */

/* Starts a keeper for the daemon listening on socket_path, named name,
 * without waiting for it. Returns the daemon's end of the link (CLOEXEC,
 * non-blocking) with *pid set, or -errno. Holds may be sent at once: they
 * wait in the link until the keeper reads them. Safe in a threaded
 * process: the child only calls async-signal-safe functions before
 * execve. */
int keeperlink_start(const char *socket_path, const char *name, pid_t *pid);

/* The keeper's first message on link, that it listens (up to timeout_ms;
 * 0: -EAGAIN when it has not come yet). 0, -ECHILD when the keeper
 * exited (it could not listen), -EPROTO, -ETIMEDOUT or -errno. */
int keeperlink_ready(int link, int timeout_ms);

/* keeperlink_start, then keeperlink_ready for up to 3 s (the keeper is
 * killed when it does not say so). The link or -errno. */
int keeperlink_spawn(const char *socket_path, const char *name, pid_t *pid);

/* Connects to the keeper a previous daemon left at "<socket_path>.keeper"
 * (checked: a socket owned by root whose peer is uid 0). The link (CLOEXEC,
 * non-blocking) or -ENOENT / -ECONNREFUSED when there is none, -EPERM. */
int keeperlink_connect(const char *socket_path);

/* Receives every session the keeper holds: fn gets the sid, the outer tty,
 * the inner master and the relay state memfd (-1 when the keeper holds
 * none) and when the keeper lost its previous daemon (CLOCK_MONOTONIC ns,
 * 0: unknown); the fds become fn's whatever it returns. The number of
 * sessions, or -errno (the link is then of no use). */
typedef void (*keeperlink_take_fn)(void *userdata, const char *sid, int outer, int inner, int state, int64_t lost_ns);
int keeperlink_take(int link, keeperlink_take_fn fn, void *userdata);

/* Hands the keeper duplicates of a session's fds (inner, state -1: none),
 * without blocking. 0 or -errno (-EAGAIN: the keeper is not reading). */
int keeperlink_hold(int link, const char *sid, int outer, int inner, int state);

/* The keeper lets go of a session's fds (only the inner master when
 * inner_only), without blocking. */
int keeperlink_drop(int link, const char *sid, bool inner_only);

/* A clean shutdown: the keeper exits once it holds nothing. */
int keeperlink_bye(int link);
