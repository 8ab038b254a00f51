/* keeper: the small root process that holds a duplicate of every session's
 * fds (outer tty, inner pty master, relay state memfd) where no service
 * manager keeps them, so
 * that a crash of sessrecd hangs nobody up, and hands them to the next
 * sessrecd. The daemon's side of its protocol is keeperlink.h.
 *
 * The keeper is the daemon's own binary exec'd again (/proc/self/exe) with
 * KEEPER_ENV naming the daemon's socket; it is told about sessions over a
 * socketpair (fd KEEPER_LINK_FD in the keeper) and listens on
 * "<socket>.keeper" (mode 0600, peers must be uid 0) for the next daemon,
 * whose connection then replaces the link. Messages are proto messages
 * (one JSON object, fds by SCM_RIGHTS):
 *   daemon -> keeper  {"op":"hold","sid":S[,"state":true]} + [outer, inner,
 *                        state], [outer, inner], [outer, state] or [outer]
 *                     {"op":"drop","sid":S,"inner_only":B}
 *                     {"op":"take"}  -> one {"op":"session","sid":S,
 *                        "lost_ns":N[,"state":true]} + fds per session, then
 *                        {"ok":true,"n":N}
 * ("state": the last fd is the relay state memfd.)
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
#define KEEPER_IDLE_MS 10000         /* no daemon and no session: the keeper exits */
#define KEEPER_HANGUP_GRACE_MS 60000 /* no daemon: a hung-up terminal is let go */

/* Whether this process was started to be the keeper (KEEPER_ENV is set). */
bool keeper_wanted(void);

/* Runs the keeper, named name (comm), until it has nothing left to hold;
 * the exit status. */
int keeper_main(const char *name);

struct json_object;

/* Which of a hold's or session's nfds fds (outer first) is the inner
 * master and which the relay state (index, 0: none), as its "state" says;
 * -EINVAL when the count does not fit. */
int keeper_fds_split(struct json_object *msg, size_t nfds, size_t *inner, size_t *state);

/* "<socket>.keeper" into buf; 0 or -ENAMETOOLONG. */
int keeper_path(char *buf, size_t cap, const char *socket_path);

/* The name the keeper shows in ps: KEEPER_NAME, or the daemon's own
 * ProcessName= when that is not "sessrecd" (a camouflaged honeypot). */
const char *keeper_name(const char *process_name);
