/* sessinfo: what sessrecctl knows of a recorded session, from its header
 * and end lines (format: sessrec-shards(5)).
 * Convention: 0 or -errno. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shardread.h"

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
