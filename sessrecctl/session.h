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

/* A point in time as users write it: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]"
 * (local time), RFC 3339, "@UNIX", "now", "today", "yesterday", or an age
 * ("90s", "30m", "2h", "3d", "1w"). 0 or -EINVAL. */
int parse_when(const char *s, double *out);
/* RFC 3339 only. 0 or -EINVAL. */
int parse_rfc3339(const char *s, double *out);

/* Where a session's lines are. */
struct target {
	char sid[SHARDREAD_SID_MAX + 1];
	size_t file;
	uint64_t off, lineno; /* its first line: uncompressed offset, number - 1 */
};

/* Finds the one session whose sid is or starts with prefix, scanning the
 * store newest first. Unknown: "no session matches 'X'"; ambiguous: the
 * candidates are listed. Both exit status 1. */
int session_find(struct store *st, const char *prefix, struct target *tg);

struct sessread {
	struct reader r;
	struct target tg;
	bool ended;          /* its end line has been returned */
	bool text;           /* decode "d" (text views) rather than the exact bytes */
	uint8_t *data;       /* EVENT lines: the decoded bytes */
	size_t ndata;
};

int sessread_open(struct sessread *s, struct store *st, const struct target *tg, bool follow);
/* 1 with the session's next line in *l (shardread_release it after); 0 when
 * there is none (s->ended once the end line was returned; else the end of
 * the file, for now when following); -1 on a read error (reported).
 * Corrupt lines that may be the session's are reported and skipped. */
int sessread_next(struct sessread *s, struct shardread_line *l);
void sessread_close(struct sessread *s);
