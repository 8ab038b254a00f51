/* state: the serialisable part of a session (everything a later daemon
 * needs to resume it: identity, counters, settings taken at the attach,
 * the saved terminal modes; no live fds) and its JSON state file <StateDirectory>/<sid>,
 * written atomically by the writer thread. Convention: 0 / length or -errno. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "uuid.h"

#define STATE_VERSION 1
#define STATE_JSON_MAX 16384
/* The limits of the state's heap strings (each holds less than this). */
#define STATE_AUTH_MAX 2048
#define STATE_CMD_MAX 2048
#define STATE_PATH_MAX PATH_MAX
/* A state file written at a handoff also carries the session's pending
 * relay bytes (base64): up to 64 KiB + 16 KiB of them. */
#define STATE_FILE_MAX (256 * 1024)

/* A recording's loss accounting (see "Loss accounting" in
 * docs/architecture.md), saved at once at each change of phase so a loss
 * in progress survives a restart. Counts are bytes of shard lines, with
 * the output and input bytes they carried. */
struct state_loss {
	int stage;            /* enum recorder_loss when saved (0: writing works) */
	int err;              /* the errno that began the first loss, 0: none */
	bool at_least;        /* part of the pending count died with a daemon: a lower bound */
	bool out_at_least;    /* ... its output count too (else it was recovered exactly) */
	bool stated_at_least; /* a marker written stated such a lower bound */
	uint64_t pending_bytes, pending_out, pending_in; /* lost, not yet stated by a written marker */
	uint64_t stated_bytes, stated_out, stated_in;    /* stated by markers written */
	uint64_t off; /* the shard's size when the loss began: no line of the session after it since */
};

/* The outer tty's owner, group and mode before the daemon took it (root,
 * 0600, TIOCEXCL), put back at the session's end, also by a restarted
 * daemon: "tty_owner" in the file; absent (older daemons): not taken. */
struct state_tty_owner {
	bool taken;
	int64_t uid, gid;
	unsigned mode; /* permission bits only */
};

struct session_state {
	char sid[UUID_STR_LEN];
	char user[256];
	char service[64]; /* PAM service (sshd, login, sessrecctl) */
	char proto[32];   /* ssh, telnet, console, local */
	char src_ip[64];
	char tty[64];
	/* The long strings are on the heap at their length (state_set), NULL
	 * when empty: inline, their limits made most of an idle session's
	 * memory (docs/architecture.md, "Memory of an idle session"). A
	 * session_state owns them: state_free, state_dup. */
	char *auth;      /* SSH_AUTH_INFO_0, < STATE_AUTH_MAX */
	char *cmd;       /* non-tty command, < STATE_CMD_MAX */
	char term[64];   /* TERM from the attach (untrusted) */
	char shell[256]; /* SHELL from the attach (untrusted) */
	int64_t uid;
	int64_t pid;           /* the pid that opened the session */
	int64_t audit_session; /* -1: none */
	int src_port;          /* 0: unknown */
	bool input;            /* input is recorded */
	bool dry_run;
	int64_t start_sec; /* realtime of the attach */
	long start_usec;
	int64_t start_mono_ns;        /* CLOCK_MONOTONIC of the attach: t = now - this */
	uint64_t bytes_in, bytes_out; /* relayed */
	uint64_t bytes_recorded;      /* shard line bytes of the session */
	uint64_t withheld;            /* input bytes withheld as secrets */
	uint64_t withheld_lines;      /* withholding episodes (one marker each) */
	uint64_t out_recorded;        /* shard bytes of recorded output lines: what the cap counts */
	unsigned resizes;
	char *shard; /* the shard file it records into, < STATE_PATH_MAX */
	bool truncated, failed;
	bool have_termios;
	struct termios termios; /* the outer tty's modes before raw */
	unsigned cols, rows;    /* last window size seen */
	/* restarts */
	char *owner;            /* the daemon's socket: whose session this is, < STATE_PATH_MAX */
	uint64_t cap;           /* SessionMaxBytes= at the attach */
	bool withhold;          /* WithholdSecrets= at the attach */
	int64_t saved_ns;       /* CLOCK_MONOTONIC of this state's writing */
	int64_t handoff_ns;     /* ... of a clean handoff to the next daemon, 0: none */
	struct state_loss loss; /* "loss" in the file; absent (older daemons): none */
	/* deploy: fail=closed from the open (absent: open); the daemon ends
	 * such a login it cannot record (enforce.h) */
	bool fail_closed;
	struct state_tty_owner tty_owner;
};

/* Whether a session's state file lags behind its state: the relay and the
 * recorder mark it, the session writes the file (periodically, or soon when
 * urgent). Not persisted. */
struct state_sync {
	bool dirty;       /* counters changed since the state file was written */
	bool urgent;      /* something that must reach the state file soon */
	int64_t saved_ms; /* monotonic: the last writing */
};

/* Bytes a session holds in memory that a handoff must carry: UTF-8 split
 * across reads, and relay buffers the other side has not taken yet. */
struct state_pending {
	uint8_t carry_o[4], carry_i[4];
	size_t carry_o_len, carry_i_len;
	uint8_t *to_outer, *to_inner; /* malloc'd, NULL when empty */
	size_t to_outer_len, to_inner_len;
};

/* A heap string of the state as a C string: "" for NULL. */
static inline const char *state_str(const char *s)
{
	return s ? s : "";
}

/* Makes *dst a copy of src (NULL when src is NULL or empty), freeing what
 * it held; -ENAMETOOLONG (*dst unchanged) when src has cap bytes or more,
 * -ENOMEM. */
int state_set(char **dst, size_t cap, const char *src);

/* Frees st's heap strings (they become NULL); the rest stays. */
void state_free(struct session_state *st);

/* *dst := *src with heap strings of its own; 0 or -ENOMEM (dst then owns
 * none). */
int state_dup(struct session_state *dst, const struct session_state *src);

/* Serialises st as one JSON object into buf; returns the length or -ENOSPC. */
int state_to_json(const struct session_state *st, char *buf, size_t cap);

/* Parses what state_to_json wrote (strictly: every field present with its
 * type, strings within their sizes) into st, which is overwritten (free
 * its strings first). 0 or -EINVAL / -ENOMEM (st then owns none). */
int state_from_json(const char *text, size_t n, struct session_state *st);

/* Reads and parses a state file. 0 or -errno. */
int state_load(const char *path, struct session_state *st);

/* The handoff form: st plus p as a "pending" object (base64 strings), in a
 * malloc'd NUL-terminated string *out. The length or -errno. */
int state_handoff_json(const struct session_state *st, const struct state_pending *p, char **out);

/* Reads a state file that may carry pending bytes (STATE_FILE_MAX at
 * most); p is zeroed when it carries none. 0 or -errno (nothing to free);
 * on success st's strings and p are the caller's to free. */
int state_load_pending(const char *path, struct session_state *st, struct state_pending *p);

/* Frees the buffers of p and zeroes it. */
void state_pending_free(struct state_pending *p);

/* <dir>/<sid>; length or -ENAMETOOLONG. */
int state_path(char *buf, size_t cap, const char *dir, const char *sid);

/* Copies src into dst (cap bytes) when it fits: 0 or -ENAMETOOLONG. */
int state_copy(char *dst, size_t cap, const char *src);
