/* service: sessrecd's orchestration, the top of its module graph: setup
 * and teardown of struct daemon, the run loop, signals, the tick and
 * watchdog timers, the writer's reports and the configuration reload.
 * Convention: 0 or -errno. */
#pragma once
#include <stddef.h>

struct daemon;
struct daemon_overrides;
struct sessrec_config;

/* Before anything rewrites argv: what a re-exec needs (the binary's path,
 * a copy of the arguments). 0 or -ENOMEM. */
int service_keep_args(struct daemon *d, int argc, char **argv);

/* Sets up everything but the listener, with d->cfg already filled in.
 * On error err says why. */
int service_init(struct daemon *d, char *err, size_t errlen);

/* The listener (server_listen), after the fds of an earlier daemon were
 * collected: our own socket is made once the command tracer is in. On
 * error err says why. */
int service_listen(struct daemon *d, char *err, size_t errlen);

/* After the listener exists: resumes what an earlier daemon left, arms
 * the timers and tells the service manager we are ready. */
void service_start(struct daemon *d);

/* Runs the loop until SIGTERM/SIGINT; 0 or -errno. */
int service_run(struct daemon *d);

/* What the loop does after each batch of events: the disk writer's
 * congestion told to every relay, finishing sessions looked at, the
 * timers re-armed (the fuzz harness calls it too). */
void service_after_events(struct daemon *d);

/* Ends every session (reason "shutdown"), or hands them over, flushes
 * the writer, frees all. */
void service_fini(struct daemon *d);

/* Re-reads the configuration (SIGHUP). */
void service_reload(struct daemon *d);

/* Puts the command-line flags over a freshly loaded configuration. */
void service_apply_overrides(const struct daemon_overrides *ov, struct sessrec_config *c);
