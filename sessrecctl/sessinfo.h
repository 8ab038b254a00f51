/* sessinfo: what sessrecctl knows of a recorded session, from its header
 * and end lines (format: sessrec-shards(5)).
 * Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shardread.h"

struct sessinfo {
	char sid[SHARDREAD_SID_MAX + 1];
	size_t file;         /* index in the store */
	uint64_t first_line; /* number of its first line in that file */
	bool has_hdr, has_end, trunc;
	bool skip;       /* filtered out, or a copy seen in another file */
	bool command;    /* meta.cmd: a non-tty command */
	double start;    /* unix seconds: meta.start, else hdr.timestamp; 0: unknown */
	double last_t;   /* of the last event seen */
	double duration; /* end.duration */
	uint64_t bytes_out, bytes_in;
	uint64_t withheld_lines;                       /* end.withheld_lines */
	unsigned ncmds;                                /* exec records */
	char *user, *src_ip, *service, *host, *reason; /* NULL: unknown */
};

/* The fields of a hdr / end line from its members (shardscan_take with
 * SHARDSCAN_MEMBERS, whichever path read the line): members of "hdr" and
 * "meta", or of "end"; a key repeated in an object: the last one counts.
 * Unknown or mistyped fields stay unknown. sessinfo_end takes s->last_t as
 * the duration when the line has none. -ENOMEM or 0. */
int sessinfo_hdr(struct sessinfo *s, const struct shardread_member *m, size_t n);
int sessinfo_end(struct sessinfo *s, const struct shardread_member *m, size_t n);
/* s->sid from a line's sid (clipped to SHARDREAD_SID_MAX). */
void sessinfo_set_sid(struct sessinfo *s, const char *sid, size_t n);
/* live, ended, truncated or unattached. */
const char *sessinfo_state(const struct sessinfo *s);
void sessinfo_free(struct sessinfo *s);
