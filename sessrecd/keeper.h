/* keeper: the small root process that holds a duplicate of every session's
 * fds (outer tty, inner pty master) where no service manager keeps them, so
 * that a crash of sessrecd hangs nobody up, and hands them to the next
 * sessrecd; plus the daemon's side of its protocol.
 *
 * The keeper is the daemon's own binary exec'd again (/proc/self/exe) with
 * KEEPER_ENV naming the daemon's socket; it is told about sessions over a
 * socketpair (fd KEEPER_LINK_FD in the keeper) and listens on
 * "<socket>.keeper" (mode 0600, peers must be uid 0) for the next daemon,
 * whose connection then replaces the link. Messages are proto messages
 * (one JSON object, fds by SCM_RIGHTS):
 *   daemon -> keeper  {"op":"hold","sid":S} + [outer, inner] or [outer]
 *                     {"op":"drop","sid":S,"inner_only":B}
 *                     {"op":"take"}  -> one {"op":"session","sid":S,
 *                        "lost_ns":N} + fds per session, then {"ok":true,"n":N}
 *                     {"op":"bye"}   (clean shutdown)
 *   keeper -> daemon  {"ok":true,"pid":P} once, when it listens.
 * The keeper keeps its duplicates after a take: it goes on holding them for
 * the daemon that took them. Convention: 0 / fd / count or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KEEPER_ENV "SESSREC_KEEPER_SOCKET"
#define KEEPER_LINK_FD 3
#define KEEPER_SUFFIX ".keeper"
#define KEEPER_NAME "sessrecd-keeper"
#define KEEPER_IDLE_MS 10000        /* no daemon and no session: the keeper exits */
#define KEEPER_HANGUP_GRACE_MS 60000 /* no daemon: a hung-up terminal is let go */

/* Whether this process was started to be the keeper (KEEPER_ENV is set). */
bool keeper_wanted(void);

/* Runs the keeper, named name (comm), until it has nothing left to hold;
 * the exit status. */
int keeper_main(const char *name);

/* "<socket>.keeper" into buf; 0 or -ENAMETOOLONG. */
int keeper_path(char *buf, size_t cap, const char *socket_path);

/* The name the keeper shows in ps: KEEPER_NAME, or the daemon's own
 * ProcessName= when that is not "sessrecd" (a camouflaged honeypot). */
const char *keeper_name(const char *process_name);

/* Starts a keeper for the daemon listening on socket_path, named name,
 * and waits (up to 3 s) until it listens. Returns the daemon's end of the
 * link (CLOEXEC, non-blocking) with *pid set, or -errno. Safe in a
 * threaded process: the child only calls async-signal-safe functions
 * before execve. */
int keeper_spawn(const char *socket_path, const char *name, pid_t *pid);

/* Connects to the keeper a previous daemon left at "<socket_path>.keeper"
 * (checked: a socket owned by root whose peer is uid 0). The link (CLOEXEC,
 * non-blocking) or -ENOENT / -ECONNREFUSED when there is none, -EPERM. */
int keeper_connect(const char *socket_path);

/* Receives every session the keeper holds: fn gets the sid, the outer tty,
 * the inner master (-1 when the keeper holds none) and when the keeper lost
 * its previous daemon (CLOCK_MONOTONIC ns, 0: unknown); the fds become fn's
 * whatever it returns. The number of sessions, or -errno (the link is then
 * of no use). */
typedef void (*keeper_take_fn)(void *userdata, const char *sid, int outer, int inner, int64_t lost_ns);
int keeper_take(int link, keeper_take_fn fn, void *userdata);

/* Hands the keeper duplicates of a session's fds (inner -1: none), without
 * blocking. 0 or -errno (-EAGAIN: the keeper is not reading). */
int keeper_hold(int link, const char *sid, int outer, int inner);

/* The keeper lets go of a session's fds (only the inner master when
 * inner_only), without blocking. */
int keeper_drop(int link, const char *sid, bool inner_only);

/* A clean shutdown: the keeper exits once it holds nothing. */
int keeper_bye(int link);
