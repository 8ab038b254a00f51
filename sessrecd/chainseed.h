/* chainseed: where a session's hash chain stands in its shard, for a
 * resumed session to continue it (restart, SIGUSR2 re-exec, keeper; see
 * docs/architecture.md "Chains and seals"). Read from the file itself, so a
 * kill -9 at any point resumes from the lines actually written. The tail
 * read back is kept for the next session resumed in the same shard (a
 * restart resumes many at once). Convention: 0 or -errno. */
#pragma once
#include <sys/types.h>

#include "chain.h"

#define CHAINSEED_MAX (256u << 20) /* bytes read back at most */

/* The shard tail read back last: the same file at the same size is read
 * no further than it must. */
struct chainseed_cache {
	dev_t dev;
	ino_t ino;
	off_t size; /* of the file when read */
	off_t off;  /* buf holds [off, size) */
	char *buf;
	size_t blen;
};

/* The chain of session sid in fd (a shard opened for reading): the last
 * anchor of the session (its checkpoint line, or its header: the chain
 * starts again there) read backwards from the end, then the session's lines
 * after it stepped forwards. No line of the session: a fresh chain.
 * -EFBIG when the anchor is further back than CHAINSEED_MAX. */
int chainseed_scan(struct chainseed_cache *cache, int fd, const char *sid, struct chain_state *out);

/* Lets go of the tail kept (after a resume). */
void chainseed_drop(struct chainseed_cache *cache);
