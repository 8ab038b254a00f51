/* relaypipe: the byte pump of a command session without a pty (`ssh host
 * cmd`, scp, sftp): sshd's stdin, stdout and stderr on one side, three
 * pipes the daemon made on the other, whose command ends the shim gives the
 * command. Each direction has a bounded buffer: a side whose peer does not
 * take more is not read (back-pressure, never an unbounded buffer), nor is
 * any side while the disk writer is congested. What it moves is recorded as
 * it is read ("i" stdin, "o" stdout, "e" stderr), or, for a file transfer
 * under TransferContent=metadata, counted and hashed (SHA-256) with one
 * marker per direction at the end. EOF goes on both ways; the end (stdout
 * and stderr closed by the command and taken by sshd, or a side gone) is
 * reported upward through one callback: it never decides a session's
 * phase. Convention: 0 or -errno. */
#pragma once
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct daemon;
struct recording;
struct session_state;
struct state_sync;

#define RELAYPIPE_BUF (64 * 1024) /* per direction: what the slower side has not taken */
#define RELAYPIPE_CLOSE_MS 2000   /* after PAM's close, the command's side has this long */

enum relaypipe_chan_id { RELAYPIPE_IN, RELAYPIPE_OUT, RELAYPIPE_ERR, RELAYPIPE_NCHAN };

struct relaypipe;
/* The relay is done (reason: exit, hangup, close, error); the owner stops
 * it (relaypipe_stop) before it returns. */
typedef void (*relaypipe_report_fn)(struct relaypipe *rp, const char *reason);

/* One direction: src is read into buf, buf is written to dst. */
struct relaypipe_chan {
	struct relaypipe *rp;
	enum relaypipe_chan_id id;
	int src, dst; /* -1: closed */
	struct loop_io src_io, dst_io;
	uint8_t *buf;
	size_t off, len; /* the bytes of buf not yet written to dst */
	uint64_t bytes;  /* read from src */
	crypto_hash_sha256_state sha;
};

struct relaypipe {
	struct daemon *d;
	struct session_state *st; /* bytes_in, bytes_out, input */
	struct state_sync *sync;
	struct recording *rec;
	relaypipe_report_fn report;
	void *userdata;
	bool running;
	bool metadata;      /* a transfer recorded as sizes and hashes (relaypipe_start) */
	const char *reason; /* "hangup" once a reader on sshd's side went */
	int64_t close_deadline_ms;
	struct relaypipe_chan ch[RELAYPIPE_NCHAN];
};

/* Binds rp (no fds) to its session's state and recording. */
void relaypipe_init(struct relaypipe *rp, struct daemon *d, struct session_state *st, struct state_sync *sync,
		    struct recording *rec, relaypipe_report_fn report, void *userdata);

/* Takes sshd's side: fds[0] stdin, fds[1] stdout, fds[2] stderr (pipes or
 * sockets; set to -1 once taken), makes the three pipes (CLOEXEC, the
 * daemon's ends O_NONBLOCK) and puts the command's ends in cmd_fds (stdin's
 * read end, stdout's and stderr's write ends: the caller sends and closes
 * them). On failure nothing is taken and why says what failed. */
int relaypipe_take(struct relaypipe *rp, int *fds, int cmd_fds[RELAYPIPE_NCHAN], char *why, size_t cap);

/* Starts relaying (after the header is queued); metadata: stdin and stdout
 * are counted and hashed, not recorded (a transfer, TransferContent=). */
void relaypipe_start(struct relaypipe *rp, bool metadata);

/* Re-registers the fds for what the relay can do now (the disk writer's
 * congestion included). */
void relaypipe_update(struct relaypipe *rp);

/* PAM closed the session: the command has RELAYPIPE_CLOSE_MS to finish. */
void relaypipe_closing(struct relaypipe *rp, int64_t now);

/* The close deadline; readers on sshd's side that went while nothing was
 * written to them. */
void relaypipe_tick(struct relaypipe *rp, int64_t now);

/* Stops: every fd unwatched and closed (the command sees EOF or EPIPE),
 * buffers freed; in metadata mode the size and SHA-256 markers are
 * recorded. Safe on a relay that has none. */
void relaypipe_stop(struct relaypipe *rp);

/* Bytes read and not yet taken by the other side, in direction id. */
size_t relaypipe_pending(const struct relaypipe *rp, enum relaypipe_chan_id id);
