/* seal: the daemon's forward-secure sealing key (sessrecd(8), "SEALS"):
 * loaded from SealKeyFile=, evolved at each epoch boundary with the file
 * rewritten in place and the old key wiped from memory, and the seal of a
 * checkpoint. Used by whoever performs shard lines (chain.c), one thread at
 * a time. Convention: 0 or -errno. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "chkseal.h"

struct seal {
	bool on;
	char path[PATH_MAX];
	struct chk_key key;
};

/* Loads the key at path, evolved to the clock's epoch. -ENOENT: no key
 * file (chains only); other errors leave seals off too. */
int seal_load(struct seal *s, const char *path);

/* Evolves the key to the epoch of Unix second now and rewrites the file
 * first, so the old key is gone from disk before it leaves memory. A key
 * file that cannot be rewritten stops the sealing (-errno): a key kept
 * past its epoch would break forward security. */
int seal_advance(struct seal *s, int64_t now);

/* Fills c's time, epoch and seal (sid's checkpoint) at Unix second now. */
void seal_make(struct seal *s, const char *sid, struct chk *c, int64_t now);

void seal_wipe(struct seal *s);
