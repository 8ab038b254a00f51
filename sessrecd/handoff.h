/* handoff: sessions outliving the daemon process (docs/architecture.md,
 * "Restarts"; sessrecd(8), RESTARTS). This is the holder: where a
 * session's fds are kept while no daemon runs (systemd's fd store, or the
 * keeper process), told as sessions attach, lose their shell and end, and
 * the restart context of the daemon. It works on sids and fds, never on
 * sessions. What a starting daemon is handed and the re-exec are in
 * handoff_exec.h, the start-up resumption in resume.h, the pure message
 * formats in handoff_msg.h. Convention: 0 or -errno. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "handoff_msg.h"
#include "loop.h"

struct sessrec_config;

enum handoff_holder {
	HANDOFF_NONE,    /* nobody: a crash hangs the sessions up */
	HANDOFF_FDSTORE, /* the service manager's fd store ($NOTIFY_SOCKET) */
	HANDOFF_KEEPER,  /* the keeper process */
};

struct handoff;
/* A new keeper replaced one that died: it holds nothing yet. */
typedef void (*handoff_rehold_fn)(struct handoff *ho);

/* The daemon's restart context (in struct daemon). */
struct handoff {
	struct loop *loop;
	const struct sessrec_config *cfg; /* the daemon's (ProcessName= names the keeper) */
	handoff_rehold_fn rehold;
	void *userdata;
	enum handoff_holder holder;
	char owner[PATH_MAX]; /* our socket's path: it names our state files */
	int keeper_fd;        /* the link, when holder is HANDOFF_KEEPER */
	pid_t keeper_pid;     /* > 0 when the keeper is our child */
	struct loop_io keeper_io;
	bool keeper_listening; /* its first message came: it listens for the next daemon */
	int64_t keeper_spawned_ms;
	char exe[PATH_MAX]; /* the binary to re-exec: the path we were started from */
	char **argv;        /* a copy of our arguments, for the re-exec */
	unsigned resumed;   /* sessions resumed since start (the list op says it) */
	/* start-up only: what was handed to us, until resume_start used it */
	struct handoff_fd *in;
	size_t nin;
	int64_t exec_handoff_ns;
	const char *source; /* "exec", "fdstore", "keeper" */
};

/* Before anything rewrites argv: the binary's path (/proc/self/exe
 * resolved now, so an upgrade replacing the file is what a re-exec runs)
 * and a copy of the arguments; the loop and configuration the holder uses
 * later, and who is told when a new keeper needs every session again. */
int handoff_init(struct handoff *ho, struct loop *loop, const struct sessrec_config *cfg, int argc, char **argv,
		 handoff_rehold_fn rehold, void *userdata);

/* "fdstore", "keeper", "none". */
const char *handoff_holder_name(enum handoff_holder h);

/* Whether the service manager keeps fds for us: $NOTIFY_SOCKET is set and
 * $FDSTORE (systemd >= 254 sets it to FileDescriptorStoreMax=) is absent or
 * not 0. getenv_fn is getenv, or a test's. */
bool handoff_fdstore_usable(char *(*getenv_fn)(const char *));

/* The keeper link fd becomes the holder (watched for the keeper's end);
 * the fd is closed on failure. */
int handoff_keeper_watch(struct handoff *ho, int fd);

/* Whether the keeper link is in the loop already (handoff_keeper_watch). */
static inline bool handoff_keeper_watched(const struct handoff *ho)
{
	return ho->keeper_io.fd >= 0;
}

/* Starts a keeper and makes it the holder, without waiting for it to
 * listen (keeper_cb hears it; holds wait in the link meanwhile); -errno
 * (logged) when it cannot be started: then nobody holds the fds. A keeper
 * that exits before it listens is lost as when it dies later. */
int handoff_keeper_start(struct handoff *ho);

/* 0 when the holder is a keeper that listens (waiting up to 3 s for a new
 * one to say so), else -errno (-ENOENT: the holder is not a keeper). */
int handoff_keeper_listening(struct handoff *ho);

/* A session attached (or resumed from a source that is not the holder):
 * the holder gets duplicates of its fds (inner -1: none) and of its relay
 * state memfd (state -1: none). */
void handoff_hold(struct handoff *ho, const char *sid, int outer, int inner, int state);
/* The holder has its fds but not (this) relay state memfd: it gets that
 * (the keeper takes all three again). */
void handoff_hold_state(struct handoff *ho, const char *sid, int outer, int inner, int state);
/* Its inner master was closed (the shell is gone or hung up). */
void handoff_drop_inner(struct handoff *ho, const char *sid);
/* It ended (or its fds are of no use): the holder lets go of everything
 * (its relay state too). */
void handoff_drop(struct handoff *ho, const char *sid);

/* SIGTERM: true when the sessions are to be handed over rather than ended
 * (the fd store keeps them for the next start). */
bool handoff_on_term(const struct handoff *ho);

/* After the sessions ended at a clean shutdown: the keeper is told and
 * waited for; everything of ho is freed. */
void handoff_fini(struct handoff *ho);
