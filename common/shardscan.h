/* shardscan: the one entry point for reading a stream of day-shard lines
 * (format: sessrec-shards(5)). Each line is classified by shardread's fast
 * path when it is in the writer's layout and by json-c otherwise; what a
 * caller needs beyond kind and sid (an event's bytes, a header's or end's
 * members, the whole object) is read on demand, by whichever path can.
 * Callers never choose between the paths, and corrupt lines are reported
 * through the source, once, and skipped.
 * Convention: 0 or -errno unless stated; no logging of its own. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shardread.h"

/* Where the lines come from: sessrecctl's reader of a shard file (plain
 * files through mmap windows, gzip inflated), or memory in tests. */
struct shardscan_src {
	/* 1 with the next line (without its '\n', valid until the next call),
	 * 0 at the end (for now), -1 on a read error (reported by the source). */
	int (*next)(void *ctx, const char **line, size_t *len);
	/* The line last returned is corrupt: report it. */
	void (*corrupt)(void *ctx);
	void *ctx;
};

/* What shardscan_take reads of the current line. */
enum {
	SHARDSCAN_BYTES = 1,   /* EVENT: its exact bytes ("raw" when present) into data */
	SHARDSCAN_TEXT = 2,    /* EVENT: the text of "d" into data (U+FFFD kept) */
	SHARDSCAN_MEMBERS = 4, /* HDR, END: the members of its objects into m[0..nm) */
	SHARDSCAN_OBJ = 8,     /* any kind but EVENT and TRUNC: l.obj, the line parsed whole */
};

struct shardscan {
	struct shardscan_src src;
	bool quiet;              /* skip lines that are no shard lines without
				       reporting them (a scan whose lines another
				       reading reports) */
	struct shardread_line l; /* the current line */
	const char *line;
	size_t len;
	bool parsed;   /* l comes from json-c: l.obj holds the line */
	uint8_t *data; /* EVENT: its bytes, after shardscan_take */
	size_t ndata;
	struct shardread_member *m; /* HDR, END: after shardscan_take */
	size_t nm, mcap;
};

/* Reads from src; allocates nothing yet. */
void shardscan_init(struct shardscan *sc, const struct shardscan_src *src);
/* Frees what the scan holds (not the source). */
void shardscan_free(struct shardscan *sc);

/* 1 with the next line in sc->l: its kind and sid, and t (and ch) for
 * t-lines. Lines in the writer's layout are read by the fast path, which
 * checks their framing only (the rest waits for shardscan_take); others
 * are parsed whole by json-c (then sc->parsed). A line that is not a shard
 * line (not one JSON object, no valid sid, a known key of the wrong type)
 * is reported corrupt, unless quiet, and skipped. 0 or -1 as src->next. */
int shardscan_next(struct shardscan *sc);

/* Reads the current line as far as want (SHARDSCAN_*) asks: nothing for
 * kinds it names nothing of. A line the fast path gives up on is parsed
 * whole by json-c, which may see another kind or (a repeated "sid") another
 * sid than shardscan_next said: read sc->l again after. Returns 0;
 * -EBADMSG after reporting the line corrupt (skip it); -ENOMEM. */
int shardscan_take(struct shardscan *sc, unsigned want);
