/* session: what sessrecctl knows of a recorded session (its header and end
 * lines), the filters list and grep share, finding a session by sid prefix,
 * and reading one session's lines out of its shard.
 * Convention: 0 or an exit status after one line on stderr, unless stated. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "shardread.h"
#include "store.h"

struct sessinfo {
	char sid[SHARDREAD_SID_MAX + 1];
	size_t file;             /* index in the store */
	uint64_t first_line;     /* number of its first line in that file */
	bool has_hdr, has_end, trunc;
	bool skip;               /* filtered out, or a copy seen in another file */
	bool command;            /* meta.cmd: a non-tty command */
	double start;            /* unix seconds: meta.start, else hdr.timestamp; 0: unknown */
	double last_t;           /* of the last event seen */
	double duration;         /* end.duration */
	uint64_t bytes_out, bytes_in;
	unsigned ncmds;          /* exec records */
	char *user, *src_ip, *service, *host, *reason; /* NULL: unknown */
	char *hdr_line, *end_line; /* copies, kept only when asked for (--json) */
};

/* From a parsed hdr / end line (json-c), or from its members (the fast
 * path, shardread_members): the same fields either way. -ENOMEM or 0. */
int sessinfo_hdr(struct sessinfo *s, struct json_object *line);
int sessinfo_end(struct sessinfo *s, struct json_object *line);
int sessinfo_hdr_members(struct sessinfo *s, const struct shardread_member *m, size_t n);
int sessinfo_end_members(struct sessinfo *s, const struct shardread_member *m, size_t n);
/* live, ended, truncated or unattached. */
const char *sessinfo_state(const struct sessinfo *s);
void sessinfo_free(struct sessinfo *s);

struct filter {
	const char *user, *host, *src;
	double since, until;
	bool has_since, has_until;
};

enum {
	FILTER_OPT_USER = CTL_OPT_LOCAL,
	FILTER_OPT_SINCE,
	FILTER_OPT_UNTIL,
	FILTER_OPT_HOST,
	FILTER_OPT_SRC,
	FILTER_OPT_LOCAL, /* first value free after the filters */
};
#define FILTER_OPTIONS                                            \
	{ "user", required_argument, NULL, FILTER_OPT_USER },     \
	{ "since", required_argument, NULL, FILTER_OPT_SINCE },   \
	{ "until", required_argument, NULL, FILTER_OPT_UNTIL },   \
	{ "host", required_argument, NULL, FILTER_OPT_HOST },     \
	{ "src", required_argument, NULL, FILTER_OPT_SRC }

/* Handles a filter option (and the common ones): 0, or CTL_EXIT_USAGE after
 * a message; -1 when c is neither. */
int filter_opt(struct ctl *ctl, struct filter *f, const char *cmd, int c, const char *arg);
bool filter_active(const struct filter *f);
/* Whether the shard of that UTC day can hold a session the filter passes. */
bool filter_day(const struct filter *f, int64_t day);
bool filter_match(const struct filter *f, const struct sessinfo *s);

/* Where a session's lines are. */
struct target {
	char sid[SHARDREAD_SID_MAX + 1];
	size_t file;
	uint64_t off, lineno; /* its first line: uncompressed offset, number - 1 */
};

struct sessread {
	struct reader r;
	struct target tg;
	bool ended;          /* its end line has been returned */
	bool text;           /* decode "d" (text views) rather than the exact bytes */
	uint8_t *data;       /* EVENT lines: the decoded bytes */
	size_t ndata;
};

/* What show, play and export start with: argv[optind] must be the only
 * operand left (else a usage error for cmd); opens the store and the one
 * session whose sid is or starts with it (store scanned newest first;
 * unknown: "no session matches 'X'", ambiguous: the candidates are listed).
 * 0 with both open (the caller closes s, then st); else an exit status
 * with neither open. */
int sessread_open_sid(struct sessread *s, struct store *st, struct ctl *ctl, const char *cmd,
		      int argc, char **argv, bool follow);
/* 1 with the session's next line in *l (shardread_release it after); 0 when
 * there is none (s->ended once the end line was returned; else the end of
 * the file, for now when following); -1 on a read error (reported).
 * Corrupt lines that may be the session's are reported and skipped. */
int sessread_next(struct sessread *s, struct shardread_line *l);
void sessread_close(struct sessread *s);
