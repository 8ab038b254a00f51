/* sidtab: a hash table of per-session entries keyed by sid, for the scans
 * of list and grep, where every line looks up its session. Entries are the
 * caller's structs ending in a flexible char sid[], allocated to the sid's
 * length from an arena freed all at once: a day of many small sessions
 * costs no malloc overhead per session. Convention: NULL on allocation
 * failure. */
#pragma once
#include <stddef.h>

struct sidtab_block;

struct sidtab {
	void **slot; /* open addressing */
	size_t cap, count;
	size_t keyoff; /* offsetof(entry type, sid) */
	void *last;    /* sessions interleave in runs: most lines hit the last one */
	struct sidtab_block *blocks;
};

/* clang-format off */
#define SIDTAB_INIT(type) { .keyoff = offsetof(type, sid) }
/* clang-format on */

/* The entry for sid[0..n), added (zeroed, sid copied) when new; *added
 * tells which. */
void *sidtab_get(struct sidtab *t, const char *sid, size_t n, int *added);
/* n bytes (aligned, not zeroed) that live until the table is cleared. */
void *sidtab_alloc(struct sidtab *t, size_t n);
/* Calls drop (may be NULL) on every entry to release what it holds, then
 * forgets all entries and frees the arena. */
void sidtab_clear(struct sidtab *t, void (*drop)(void *entry));
void sidtab_free(struct sidtab *t, void (*drop)(void *entry));
