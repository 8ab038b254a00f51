/* shardline: the one encoder of day-shard lines (sessrec-shards(5)).
 * Used by sessrecd on every byte of every session, so it is allocation-free.
 * Convention: functions return a length or 0 on success, -errno on failure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHARD_LINE_MAX 4096 /* every line, newline included, is shorter (PIPE_BUF) */
#define SHARD_SID_LEN 36

/* An incomplete UTF-8 sequence at the end of one read, carried to the next
 * event of the same channel so a character is never cut. One per channel. */
struct shard_utf8 {
	uint8_t buf[4];
	uint8_t len;
};

/* Receives each complete line (ending in '\n', len < SHARD_LINE_MAX).
 * A negative return stops encoding and is passed back to the caller. */
typedef int (*shard_line_fn)(void *userdata, const char *line, size_t len);

/* Encodes n bytes of channel ch ('o' or 'i') read at time t (seconds since
 * session start) as one or more lines
 *   {"sid":S,"t":T,"ch":"o","d":"..."}            valid UTF-8
 *   {"sid":S,"t":T,"ch":"o","d":"..\ufffd..","raw":"BASE64"}  otherwise
 * where "raw" holds the exact bytes of that line's chunk. Control characters,
 * '"' and '\\' are JSON-escaped; a line with enough ESCs (and no U+241B)
 * has them as U+241B instead, and "x1b":"\u241b" before "d" says so
 * (shardx1b.h). Chunks never split a UTF-8 sequence. A
 * trailing sequence that is valid so far but incomplete stays in *carry and is
 * prepended at the next call. sid is SHARD_SID_LEN characters.
 * Each line takes as many bytes as fit (d and raw together; 12 bytes less,
 * the member's, unless it has a real U+241B); when an invalid
 * byte would not fit with the raw it brings, the line ends before it, so
 * the valid text before it needs no raw. ch must be printable ASCII
 * other than '"' and '\\' (-EINVAL). n == 0 emits nothing.
 * Returns 0 or the first negative value fn returned (the rest of data is
 * then dropped; *carry stays consistent). */
int shard_encode_event(struct shard_utf8 *carry, const char *sid, double t, char ch, const uint8_t *data, size_t n,
		       shard_line_fn fn, void *userdata);

/* Emits what *carry still holds (as invalid bytes, with raw) and empties it:
 * at session end, so no byte is lost. Returns 0 or fn's negative value. */
int shard_encode_flush(struct shard_utf8 *carry, const char *sid, double t, char ch, shard_line_fn fn, void *userdata);

/* The recording's header: an asciicast v2 header plus what asciicast has no
 * field for. NULL strings are omitted (meta) or defaulted (env: SHELL
 * "/bin/sh", TERM "dumb"); so are uid < 0, src_port 0, pid 0, audit_session
 * -1 (or 4294967295, the kernel's "unset"). Strings may be hostile: invalid
 * UTF-8 becomes U+FFFD, and the longest strings are clipped to one common
 * length so the line fits (shardfmt.c). */
struct shard_meta {
	const char *user;
	long uid;            /* -1: unknown */
	const char *service; /* PAM service: sshd, login, sessrecctl */
	const char *proto;   /* ssh, telnet, console, local */
	const char *src_ip;
	int src_port; /* 0: unknown */
	const char *tty;
	const char *host;
	const char *auth;   /* SSH_AUTH_INFO_0 without its trailing newline */
	const char *start;  /* RFC 3339, UTC, microseconds */
	const char *cmd;    /* non-tty command line, or NULL */
	long pid;           /* the pid that opened the session, 0: unknown */
	long audit_session; /* /proc/PID/sessionid, -1: none */
	bool input;         /* whether input is recorded */
};

struct shard_header {
	unsigned width, height;
	int64_t timestamp; /* unix seconds of the start */
	const char *shell, *term;
	struct shard_meta meta;
};

/* A session with more withheld lines (shard_end.withheld_lines) than this
 * is flagged: in its session_recorded event and in sessrecctl list. Typing
 * one or two passwords stays under it; a shell used under stty -echo does
 * not. */
#define SHARD_WITHHELD_FLAG 3

struct shard_end {
	double duration;         /* seconds */
	uint64_t bytes_out;      /* output bytes relayed */
	uint64_t bytes_in;       /* input bytes relayed */
	uint64_t bytes_recorded; /* shard bytes written for the session */
	uint64_t withheld;       /* input bytes withheld as secrets */
	uint64_t withheld_lines; /* withholding episodes, one "input withheld" marker each */
	unsigned resizes;
	bool truncated;
	uint64_t lost_bytes;     /* shard bytes lost to write errors (written only when not 0) */
	uint64_t lost_output;    /* ... the output bytes they carried (written with lost_bytes) */
	uint64_t lost_input;     /* ... the input bytes they carried (written with lost_bytes) */
	uint64_t removed_bytes;  /* shard bytes written to files removed since (only when not 0) */
	const char *write_error; /* the errno name that began a loss ("ENOSPC"), or NULL */
	bool lost_at_least;      /* the lost counts are lower bounds (part died with a restarted recorder) */
	const char *reason;      /* exit, hangup, close, shutdown, error */
	const char *end;         /* RFC 3339 end time */
};

/* Each formats one complete line into buf (cap >= SHARD_LINE_MAX is always
 * enough) and returns its length, or -ENOSPC. Strings too long for one line
 * (meta, marker text) are clipped at a UTF-8 boundary, never producing a
 * line of SHARD_LINE_MAX bytes or more. */
int shard_format_header(char *buf, size_t cap, const char *sid, const struct shard_header *h);
int shard_format_resize(char *buf, size_t cap, const char *sid, double t, unsigned cols, unsigned rows);
int shard_format_marker(char *buf, size_t cap, const char *sid, double t, const char *text);
int shard_format_trunc(char *buf, size_t cap, const char *sid);
int shard_format_end(char *buf, size_t cap, const char *sid, const struct shard_end *e);

/* Escrow of withheld input (sessrec-shards(5), "Escrow"): a withheld line
 * is sealed (libsodium crypto_box_seal, in sessrecd) in pieces of at most
 * SHARD_ESCROW_PIECE bytes, each piece one line
 * {"sid":S,"t":T,"esc":"BASE64"[,"more":true]}; "more" says the next piece
 * continues the same line. A sealed piece is 48 bytes longer than its
 * text, and a line of the largest one stays well under SHARD_LINE_MAX. */
#define SHARD_ESCROW_PIECE 2048
#define SHARD_ESCROW_SEALED_MAX (SHARD_ESCROW_PIECE + 48)
int shard_format_escrow(char *buf, size_t cap, const char *sid, double t, const uint8_t *sealed, size_t n, bool more);

/* The shard file for a session that started at unix time ts:
 * <dir>/sessions-YYYY-MM-DD.jsonl (UTC day). Returns length or -ENAMETOOLONG. */
int shard_path(char *buf, size_t cap, const char *dir, int64_t ts);
/* The same for any daily file: <dir>/<prefix>-YYYY-MM-DD.jsonl (the auth
 * files: prefix "auth"). */
int shard_day_path(char *buf, size_t cap, const char *dir, const char *prefix, int64_t ts);

/* RFC 3339 UTC with microseconds ("2026-11-24T12:00:00.123456Z"). */
int shard_rfc3339(char *buf, size_t cap, int64_t sec, long usec);

/* The project's one JSON string escaper (for every writer of JSON text that
 * does not go through json-c): writes the body (no quotes) of a JSON string
 * for p[0..n) into out, '"' and '\\' backslash-escaped, \b \f \n \r \t in
 * short form, other C0 controls and DEL as \u00xx, valid UTF-8 copied, each
 * invalid maximal subpart (and an incomplete tail) replaced by U+FFFD. Writes
 * at most cap bytes, never cutting a character or an escape. Returns the
 * bytes written; *used (if not NULL) gets the input bytes consumed. */
size_t shard_json_escape(char *out, size_t cap, const uint8_t *p, size_t n, size_t *used);

/* Formats t exactly as printf("%.6f") does (no NUL added), for the "t" of
 * every t-line. NaN and t <= 0 print 0.000000, t is capped at 1e12. Returns
 * the length, at most SHARD_T_MAX. */
#define SHARD_T_MAX 24
size_t shard_format_t(char *out, double t);

/* A kernel denial attributed to a session (issue 13):
 * {"sid":S,"t":T,"deny":{"kind":"seccomp","pid":P,"comm":C,"exe":E,
 * "syscall":N,"syscall_name":"getpid","action":"kill_process","sig":31}}
 * (AppArmor/SELinux: "op", "target", "profile", "class" instead of the
 * syscall fields). count > 1: the line stands for that many denials of the
 * same pid, syscall and action within one second (a summary); absent it is
 * one. NULL strings, syscall < 0 and sig 0 are left out (the kernel's
 * record has no errno: a SECCOMP_RET_ERRNO is "errno");
 * strings may be hostile (escaped, clipped to fit). */
struct shard_deny {
	const char *kind; /* seccomp, apparmor, selinux */
	long pid;
	const char *comm, *exe;
	long syscall;
	const char *syscall_name, *action;
	int sig;
	const char *op, *target, *profile, *tclass;
	uint64_t count;
};
int shard_format_deny(char *buf, size_t cap, const char *sid, double t, const struct shard_deny *dn);
