/* daemon: sessrecd's one top-level context (configuration, the loop,
 * listener and connections, sessions, shard files, the disk writer, timers)
 * and the structs the modules share. Nothing of the daemon lives outside
 * struct daemon. Convention: 0 or -errno. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"
#include "handoff.h"
#include "loop.h"
#include "proctitle.h"
#include "proto.h"
#include "shardline.h"
#include "state.h"
#include "writer.h"

enum session_phase {
	SESSION_OPEN,      /* registered by PAM; its token waits for the attach */
	SESSION_RELAYING,  /* attached: relaying and recording */
	SESSION_DRAINING,  /* inner side at EOF: flushing output to the outer tty */
	SESSION_FINISHING, /* end line queued; waiting for the writer to write it */
	SESSION_ENDED,     /* recorded; kept until PAM's close (or expiry) */
	SESSION_COMMAND,   /* a non-tty command was noted */
	SESSION_DRYRUN,    /* attached in dry-run mode: nothing relayed or recorded */
};

/* A relay direction's pending bytes; the memory exists only while needed. */
struct relay_buf {
	uint8_t *p;
	size_t start, end;
};

/* One open day shard, shared by every session writing it. */
struct shard_file {
	struct shard_file *next;
	int fd;
	unsigned refs;
	char path[];
};

struct conn;

struct session {
	struct session *prev, *next;
	struct daemon *d;
	uint64_t serial;          /* names the session in the writer's reports */
	enum session_phase phase;
	struct session_state st;  /* everything a restart needs, serialisable */
	/* registration */
	char token[PROTO_TOKEN_LEN + 1];
	bool token_spent;
	int64_t opened_ms;        /* monotonic: the token's age */
	int64_t opened_sec;       /* realtime */
	bool withhold;            /* WithholdSecrets= at the attach */
	uint64_t cap;             /* SessionMaxBytes= at the attach */
	/* relay */
	struct loop_io outer_io, master_io;
	struct relay_buf to_outer, to_inner;
	int64_t drain_deadline_ms;
	const char *end_reason;
	/* recording */
	struct shard_file *file;
	struct shard_utf8 carry_o, carry_i;
	uint64_t withheld_pending;
	uint64_t end_seq;         /* the writer seq of the end line */
	int64_t ended_ms;
	int64_t stop_ns;          /* CLOCK_MONOTONIC when it stopped, if known before it ends (lost) */
	bool state_dirty;         /* counters changed since the state file was written */
	bool state_urgent;        /* something that must reach the state file soon */
	int64_t state_saved_ms;
	/* close */
	struct conn *close_conn;  /* a close request waiting for the end */
	int64_t close_deadline_ms;
};

struct conn {
	struct conn *prev, *next;
	struct daemon *d;
	struct loop_io io;
	int fd;
	struct ucred cred;        /* SO_PEERCRED, taken at accept */
	struct session *waiting;  /* the close reply waits for this session's end */
	int64_t idle_deadline_ms;
};

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
	bool config_explicit;     /* --config given: the file must exist */
	struct daemon_overrides ov;
	struct proctitle title;
	struct loop loop;
	/* listener and connections */
	int listen_fd;
	bool listen_activated;    /* from systemd: not ours to unlink */
	char listen_path[PATH_MAX];
	dev_t listen_dev;         /* the socket file we made, to unlink only it */
	ino_t listen_ino;
	struct loop_io listen_io;
	int64_t accept_resume_ms; /* EMFILE backoff: accepting stopped until then */
	struct conn *conns;
	unsigned nconns;
	/* sessions */
	struct session *sessions;
	unsigned nsessions;
	uint64_t next_serial;
	struct shard_file *shard_files;
	bool state_ok;            /* the state directory exists */
	struct handoff ho;        /* restarts: holder, keeper, re-exec */
	/* disk writer */
	struct writer *writer;
	struct loop_io writer_io;
	bool disk_paused;         /* writer over its high watermark: masters not read */
	/* signals and timers */
	int sig_fd, tick_fd, wd_fd;
	struct loop_io sig_io, tick_io, wd_io;
	unsigned tick_ms;         /* the tick's current period, 0: disarmed */
	int64_t house_last_ms;
	uint64_t watchdog_usec;
	unsigned status_sessions; /* the count last put in STATUS= */
	bool quit;
	bool handoff;             /* at the quit: hand the sessions over, do not end them */
	uint8_t scratch[65536];   /* one batch of reads, shared by every relay */
};

#define DAEMON_TICK_MS 250         /* window size checks, deadlines */
#define DAEMON_HOUSE_MS 1000       /* expiries when nothing relays */
#define DAEMON_MAX_CONNS 512
#define DAEMON_MAX_CONNS_PER_UID 16 /* for uids other than 0 */
#define DAEMON_CONN_IDLE_MS 30000
#define DAEMON_ENDED_KEEP_MS (10 * 60 * 1000)

/* Sets up everything but the listener, with d->cfg already filled in.
 * On error err says why. */
int daemon_init(struct daemon *d, char *err, size_t errlen);

/* Runs the loop until SIGTERM/SIGINT; 0 or -errno. */
int daemon_run(struct daemon *d);

/* Ends every session (reason "shutdown"), flushes the writer, frees all. */
void daemon_fini(struct daemon *d);

/* Re-arms the tick for what exists now (250 ms while sessions relay, 1 s
 * while anything else needs housekeeping, off otherwise). */
void daemon_update_timers(struct daemon *d);

/* Re-reads the configuration (SIGHUP). */
void daemon_reload(struct daemon *d);

/* Pauses or resumes reading inner masters after the writer's queue changed. */
void daemon_check_disk(struct daemon *d);

/* Puts the command-line flags over a freshly loaded configuration. */
void daemon_apply_overrides(const struct daemon_overrides *ov, struct sessrec_config *c);
