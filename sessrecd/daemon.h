/* daemon: sessrecd's one top-level context (configuration, the loop,
 * listener and connections, sessions, shard files, the disk writer, the
 * restart context, timers). Nothing of the daemon lives outside struct
 * daemon. Only the context: each module's own types are in its header
 * (struct session in session.h, struct relay in relay.h, struct recording
 * and struct shard_file in recorder.h, struct conn private to server.c),
 * and the orchestration (init, run, signals, timers, reload) is service.h. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "handoff.h"
#include "log.h"
#include "loop.h"
#include "proctitle.h"

struct chain;
struct chainseed_cache;
struct authwatch;
struct conn;
struct kdeny;
struct relay;
struct relaydisk;
struct session;
struct emitter;
struct shard_file;
struct shard_sink;
struct writer;
struct cmdtrace;

/* Command-line flags: they win over the configuration, also after reloads. */
struct daemon_overrides {
	bool socket, shard_dir, targets;
	char socket_path[PATH_MAX];
	char shard_dir_path[PATH_MAX];
	unsigned target_mask;
};

struct daemon {
	struct sessrec_config cfg;
	char config_path[PATH_MAX];
	bool config_explicit; /* --config given: the file must exist */
	struct daemon_overrides ov;
	struct proctitle title;
	struct loop loop;
	/* listener and connections (server.c) */
	int listen_fd;
	bool listen_activated; /* from systemd: not ours to unlink */
	char listen_path[PATH_MAX];
	dev_t listen_dev; /* the socket file we made, to unlink only it */
	ino_t listen_ino;
	struct loop_io listen_io;
	int64_t accept_resume_ms; /* EMFILE backoff: accepting stopped until then */
	struct conn *conns;
	unsigned nconns;
	/* sessions (session.c) */
	struct session *sessions;
	struct session *dirty; /* sessions with work left after the events (finishing) */
	unsigned nsessions;
	unsigned nlive;  /* open, relaying, draining, finishing: against MaxSessions= */
	unsigned nrelay; /* relaying, draining */
	uint64_t next_serial;
	struct shard_file *shard_files; /* recorder.c */
	struct shard_sink *sink;        /* NULL: lines go to the writer (tests set one) */
	bool state_ok;                  /* the state directory exists */
	struct handoff ho;              /* restarts: holder, keeper, re-exec */
	/* disk writer */
	struct writer *writer;
	struct loop_io writer_io;
	bool disk_paused;               /* writer over its high watermark: masters not read */
	bool disk_changed;              /* disk_paused changed: relays and the log are told after the events */
	struct relaydisk *disk_waiting; /* relays whose reading waits for the writer to confirm lines (relaydisk.c) */
	/* signals and timers */
	int sig_fd, tick_fd, wd_fd;
	struct loop_io sig_io, tick_io, wd_io;
	unsigned tick_ms; /* the tick's current period, 0: disarmed */
	int64_t house_last_ms;
	struct session *tick_next; /* the session tick's cursor (session_tick_some) */
	bool tick_house;           /* this pass does the expiries */
	bool tick_pass;            /* a pass is under way: the timer fires again at once */
	uint64_t watchdog_usec;
	unsigned status_sessions; /* the count last put in STATUS= */
	struct emitter *emitter;  /* NULL: events go to the configured targets (tests set one) */
	struct log_out event_out; /* Targets=stdout, never blocking */
	bool quit;
	bool handoff;           /* at the quit: hand the sessions over, do not end them */
	uint8_t scratch[65536]; /* one batch of reads, shared by every relay */
	/* escrow of withheld input (escrow.c): the key of EscrowPublicKey= */
	bool escrow_on;
	uint8_t escrow_pk[32];
	struct chain *chain;    /* hash chains and seals of the lines the writer writes (chain.h) */
	struct chainseed_cache *seed; /* a shard's tail read back by resumes, dropped at the tick (chainseed.h) */
	/* authentications and kernel denials (issue 13) */
	struct kdeny *kdeny;         /* NULL: not read (kdeny.h) */
	struct authwatch *authwatch; /* NULL: sshd's journal not followed (authwatch.h) */
	/* Told by session_end before a session's end line is queued, so lines
	 * still held above the session (kdeny's summaries) go in first; NULL:
	 * nobody holds any. A callback, as relay and recorder report upward. */
	void (*session_ending)(struct daemon *d, struct session *s);
	/* the command tracer (cmdtrace.h, cmdtrace_rec.h); NULL: not started */
	struct cmdtrace *cmdtrace;
};

#define DAEMON_TICK_MS 250   /* window size checks, deadlines */
#define DAEMON_HOUSE_MS 1000 /* expiries when nothing relays */
#define DAEMON_TICK_SLICE 32 /* sessions per slice of a tick: ~40 us of ioctls at most between events */
#define DAEMON_MAX_CONNS 512
#define DAEMON_MAX_CONNS_PER_UID 16 /* for uids other than 0 */
#define DAEMON_CONN_IDLE_MS 30000
#define DAEMON_ENDED_KEEP_MS (10 * 60 * 1000)
