/* handoff_exec: the fds a starting daemon is handed (the SIGUSR2
 * re-exec's memfd, named by HANDOFF_ENV, or a service manager's
 * LISTEN_FDS), and the daemon handing its sessions away: the re-exec, and
 * the hand-over to the fd store at a SIGTERM. A stored fd without a state
 * file, or a state file without fds, is closed and reported with its sid
 * by the resumption (resume.h), never leaked. Convention: 0 or -errno. */
#pragma once
#include <stddef.h>

struct daemon;

/* Before the listener exists: takes every fd handed to this process (the
 * re-exec memfd, or LISTEN_FDS from a service manager) and keeps the
 * listening socket in d->listen_fd when one came. err says what failed. */
int handoff_exec_collect(struct daemon *d, char *err, size_t errlen);

/* Hands every relaying session over: pending bytes and state written to
 * its state file (synchronously; the writer is stopped first), fds closed
 * without touching the terminals, sessions freed. */
void handoff_exec_detach_all(struct daemon *d);

/* SIGUSR2: re-executes the binary on disk with everything handed over;
 * returns only when that failed, with the daemon running as before. */
void handoff_exec_run(struct daemon *d);
