/* cmdtrace_rec: the command tracer tied to the sessions (docs/architecture.md,
 * "Commands"): starts the source the configuration names, tells it which
 * processes belong to a session at its attach, and turns its events into
 * the session's exec/exit lines (common/shardcmd) through the recorder's
 * line path, and into command_executed events (CommandEvents=yes).
 * Convention: 0 or -errno. */
#pragma once
#include <sys/types.h>

struct daemon;
struct session;

/* Starts loading the tracer CommandSource= names, in a thread (one log
 * line says which source when it is in); d->cmdtrace is set. Sessions
 * relaying when it is in (resumed) are tracked as cmdtrace_rec_resume
 * does. Until then no session is tracked. 0, or -ENOMEM. */
int cmdtrace_rec_start(struct daemon *d);

/* Before new sessions are served: waits until the tracer is in, unless a
 * session relays already (resumed: its terminal does not wait; the load
 * goes on from the loop). */
void cmdtrace_rec_ready(struct daemon *d);
void cmdtrace_rec_stop(struct daemon *d);

/* s was attached by root (the shim, or sessrecctl record; the peer of the
 * attach): its process tree, and its login's audit session when that is
 * its own, are tracked from now on. A failure is logged; the session goes
 * on without commands. */
void cmdtrace_rec_attach(struct daemon *d, struct session *s, pid_t root);

/* s was resumed from an earlier daemon's state: the processes that descend
 * from its opener now (sessrecctl record itself, or sshd's process for
 * that login; one that started after the session is a reused pid and is
 * left alone), and its own audit session, are tracked from now on. The
 * commands run while no daemon traced are not recorded. */
void cmdtrace_rec_resume(struct daemon *d, struct session *s);

/* The sid of the live session process pid belongs to (by the tracer's
 * tree and audit attribution), NULL when none or no source: for modules
 * attributing kernel events to sessions (authdeny). */
const char *cmdtrace_sid_of_pid(struct daemon *d, pid_t pid);

/* "bpf", "proc", "off", "none" (status). */
const char *cmdtrace_rec_source(const struct daemon *d);
