/* sidtab: a hash table of per-session entries keyed by sid, for the scans
 * of list and grep, where every line looks up its session. Entries are the
 * caller's structs whose first member is char sid[SHARDREAD_SID_MAX + 1].
 * Convention: NULL on allocation failure. */
#pragma once
#include <stddef.h>

struct sidtab {
	char **slot;  /* open addressing; each points at an entry (its sid) */
	size_t cap, count;
	char *last;   /* sessions interleave in runs: most lines hit the last one */
};

/* The entry for sid[0..n), added (size bytes, zeroed, sid copied) when new;
 * *added tells which. */
void *sidtab_get(struct sidtab *t, const char *sid, size_t n, size_t size, int *added);
/* Calls drop on every entry (which frees it) and empties the table. */
void sidtab_clear(struct sidtab *t, void (*drop)(void *entry));
void sidtab_free(struct sidtab *t, void (*drop)(void *entry));
