/* handoff: sessions outliving the daemon process (DESIGN.md
 * "Availability"). Where a session's fds are held while no daemon runs (the
 * holder: systemd's fd store, or the keeper process), telling the holder as
 * sessions attach and end, and at start-up collecting fds and state files
 * into resumable sessions from the three ways a daemon can be handed them:
 * the SIGUSR2 re-exec (a memfd named by HANDOFF_ENV), the fd store
 * (sd_listen_fds_with_names) and the keeper's socket.
 *
 * The fds of a session are named "<sid>-outer" (the outer tty) and
 * "<sid>-inner" (the inner pty master); "listen" is the daemon's socket and
 * "keeper" its link to the keeper (re-exec only). A stored fd without a
 * state file, or a state file without fds, is closed and reported with its
 * sid, never leaked. Convention: 0 or -errno. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "uuid.h"

struct daemon;
struct session;

#define HANDOFF_ENV "SESSREC_HANDOFF_FD"
#define HANDOFF_VERSION 1
#define HANDOFF_NAME_MAX 64

enum handoff_holder {
	HANDOFF_NONE,    /* nobody: a crash hangs the sessions up */
	HANDOFF_FDSTORE, /* the service manager's fd store ($NOTIFY_SOCKET) */
	HANDOFF_KEEPER,  /* the keeper process */
};

enum handoff_kind { HANDOFF_FD_UNKNOWN, HANDOFF_FD_OUTER, HANDOFF_FD_INNER, HANDOFF_FD_LISTEN, HANDOFF_FD_KEEPER };

/* One fd a starting daemon was handed, with its name. */
struct handoff_fd {
	char name[HANDOFF_NAME_MAX];
	int fd;
};

/* What the re-exec hands over besides the fds (all in the memfd). */
struct handoff_exec {
	struct handoff_fd *fds;
	size_t nfds;
	bool listen_activated;
	char listen_path[PATH_MAX];
	uint64_t listen_dev, listen_ino;
	int64_t keeper_pid;  /* 0: the keeper is not our child */
	unsigned resumed;
	int64_t handoff_ns;
};

/* The daemon's restart context (in struct daemon). */
struct handoff {
	enum handoff_holder holder;
	char owner[PATH_MAX];   /* our socket's path: it names our state files */
	int keeper_fd;          /* the link, when holder is HANDOFF_KEEPER */
	pid_t keeper_pid;       /* > 0 when the keeper is our child */
	struct loop_io keeper_io;
	int64_t keeper_spawned_ms;
	char exe[PATH_MAX];     /* the binary to re-exec: the path we were started from */
	char **argv;            /* a copy of our arguments, for the re-exec */
	unsigned resumed;       /* sessions resumed since start (the list op says it) */
	/* start-up only: what was handed to us, until handoff_start used it */
	struct handoff_fd *in;
	size_t nin;
	int64_t exec_handoff_ns;
	const char *source;     /* "exec", "fdstore", "keeper" */
};

/* --- pure helpers (unit-tested) --- */

/* Classifies an fd name; for OUTER/INNER sid receives the session id. */
enum handoff_kind handoff_name_kind(const char *name, char sid[UUID_STR_LEN]);

/* "<sid>-outer" / "<sid>-inner" into buf (HANDOFF_NAME_MAX). */
void handoff_name(char *buf, const char *sid, bool inner);

/* The marker written into a resumed session's recording. */
void handoff_gap_text(char *buf, size_t cap, int64_t gap_ns);

/* Whether the service manager keeps fds for us: $NOTIFY_SOCKET is set and
 * $FDSTORE (systemd >= 254 sets it to FileDescriptorStoreMax=) is absent or
 * not 0. getenv_fn is getenv, or a test's. */
bool handoff_fdstore_usable(char *(*getenv_fn)(const char *));

/* The re-exec memfd's JSON: format into a malloc'd string (length or
 * -errno) and parse strictly (0 or -EINVAL/-ENOMEM; free with
 * handoff_exec_free). */
int handoff_exec_format(const struct handoff_exec *x, char **out);
int handoff_exec_parse(const char *text, size_t n, struct handoff_exec *x);
void handoff_exec_free(struct handoff_exec *x);

/* --- the daemon's side --- */

/* Before anything rewrites argv: the binary's path (/proc/self/exe
 * resolved now, so an upgrade replacing the file is what a re-exec runs)
 * and a copy of the arguments. */
int handoff_init(struct daemon *d, int argc, char **argv);

/* Before the listener exists: takes every fd handed to this process (the
 * re-exec memfd, or LISTEN_FDS from a service manager) and keeps the
 * listening socket in d->listen_fd when one came. err says what failed. */
int handoff_collect(struct daemon *d, char *err, size_t errlen);

/* After the listener exists: chooses the holder (starting or reaching the
 * keeper), takes what a keeper holds, pairs every fd with its state file
 * and resumes those sessions; reports and closes the rest. */
void handoff_start(struct daemon *d);

/* A session attached (or resumed from a source that is not the holder):
 * the holder gets duplicates of its fds. */
void handoff_hold(struct daemon *d, struct session *s);
/* Its inner master was closed (the shell is gone or hung up). */
void handoff_drop_inner(struct daemon *d, struct session *s);
/* It ended: the holder lets go of everything. */
void handoff_drop(struct daemon *d, struct session *s);

/* SIGTERM: true when the sessions are to be handed over rather than ended
 * (the fd store keeps them for the next start). */
bool handoff_on_term(struct daemon *d);

/* Hands every relaying session over: pending bytes and state written to
 * its state file (synchronously; the writer is stopped first), fds closed
 * without touching the terminals, sessions freed. */
void handoff_detach_all(struct daemon *d);

/* Says (with why) how many registered sessions waiting for their attach a
 * handoff cannot keep: their tokens are not handed over. */
void handoff_log_unattached(struct daemon *d, const char *why);

/* After the sessions ended at a clean shutdown: the keeper is told and
 * waited for. */
void handoff_fini(struct daemon *d);

/* SIGUSR2: re-executes the binary on disk with everything handed over;
 * returns only when that failed, with the daemon running as before. */
void handoff_reexec(struct daemon *d);

/* The state of a relaying session as a handoff writes it (shared by the
 * re-exec). 0 or -errno. */
int handoff_write_state(struct daemon *d, struct session *s, int64_t now_ns);
