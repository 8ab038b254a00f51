/* handoff_msg: the pure parts of a handoff (what one daemon passes the
 * next; handoff.h says how): the names of handed-over fds, the JSON the
 * SIGUSR2 re-exec passes in its memfd, and the gap marker a resumed
 * recording gets. No daemon state here, so it is unit-tested.
 *
 * The fds of a session are named "<sid>-outer" (the outer tty),
 * "<sid>-inner" (the inner pty master) and "<sid>-state" (the relay state
 * memfd, relaymem.h); "listen" is the daemon's socket and "keeper" its link
 * to the keeper (re-exec only).
 * Convention: 0 / length or -errno. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uuid.h"

#define HANDOFF_ENV "SESSREC_HANDOFF_FD"
#define HANDOFF_VERSION 1
#define HANDOFF_NAME_MAX 64

enum handoff_kind {
	HANDOFF_FD_UNKNOWN,
	HANDOFF_FD_OUTER,
	HANDOFF_FD_INNER,
	HANDOFF_FD_STATE,
	HANDOFF_FD_LISTEN,
	HANDOFF_FD_KEEPER,
};

/* One fd a starting daemon was handed, with its name. */
struct handoff_fd {
	char name[HANDOFF_NAME_MAX];
	int fd;
};

/* What the re-exec hands over besides the fds (all in the memfd). */
struct handoff_msg {
	struct handoff_fd *fds;
	size_t nfds;
	bool listen_activated;
	char listen_path[PATH_MAX];
	uint64_t listen_dev, listen_ino;
	int64_t keeper_pid; /* 0: the keeper is not our child */
	unsigned resumed;
	int64_t handoff_ns;
};

/* Classifies an fd name; for OUTER/INNER/STATE sid receives the session id. */
enum handoff_kind handoff_msg_fd_kind(const char *name, char sid[UUID_STR_LEN]);

/* "<sid>-outer" / "<sid>-inner" / "<sid>-state" (kind OUTER, INNER,
 * STATE) into buf (HANDOFF_NAME_MAX). */
void handoff_msg_fd_name(char *buf, const char *sid, enum handoff_kind kind);

/* The marker written into a resumed session's recording. */
void handoff_msg_gap_text(char *buf, size_t cap, int64_t gap_ns);

/* What relaytake_recover counted of the output in flight at the stop (relaytake.h). */
struct handoff_resume_counts {
	uint64_t rerecorded, resent, cut_read, unrecorded, unsure, unshown;
};

/* The marker after it that counts the output in flight at the stop:
 * recorded again (the shard lacked it), sent on to the terminal (it had
 * not taken it; how many of those a read cut short by the kill had taken),
 * lost to the recording, perhaps recorded twice (the shard could not be
 * read), and the bound of what a terminal write cut short by the kill may
 * have kept from the terminal. */
void handoff_msg_resume_text(char *buf, size_t cap, const struct handoff_resume_counts *c);

/* ... or, without a relay state, that those bytes are not known. */
#define HANDOFF_RESUME_UNKNOWN "resumed without the relay state: output in flight at the stop is not counted"

/* The re-exec memfd's JSON: format into a malloc'd string (length or
 * -errno) and parse strictly (0 or -EINVAL/-ENOMEM; free with
 * handoff_msg_free). */
int handoff_msg_format(const struct handoff_msg *x, char **out);
int handoff_msg_parse(const char *text, size_t n, struct handoff_msg *x);
void handoff_msg_free(struct handoff_msg *x);
