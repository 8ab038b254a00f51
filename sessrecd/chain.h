/* chain: each session's hash chain as its lines reach the disk, its
 * checkpoints and its seals (sessrec-shards(5), "Chains and checkpoints";
 * docs/architecture.md "Chains and seals"). Whoever performs shard lines
 * (the writer thread, or the loop while the thread sleeps: one at a time)
 * feeds it every line it wrote, so the chain is exactly what the file
 * holds, whatever the line's kind. The loop reads only the final hashes,
 * under the lock. Convention: 0 or -errno; line lengths. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chk.h"
#include "seal.h"

#define CHAIN_CHK_BYTES (64u << 10)      /* a checkpoint after this many bytes of a session's lines */
#define CHAIN_CHK_NS (10 * 1000000000LL) /* ...or when its oldest unchecked line is this old */
#define CHAIN_SID_MAX 64

/* Where a session's chain stands (also a resume's seed). */
struct chain_state {
	char sid[CHAIN_SID_MAX + 1];
	uint64_t n;              /* lines chained */
	uint8_t h[CHK_HASH_LEN]; /* h_n */
	uint64_t since;          /* bytes of lines since the last checkpoint */
};

struct chain_link;

/* What the end line's checkpoint said, for session_recorded. */
struct chain_final {
	uint64_t owner;
	struct chk chk;
};

struct chain {
	struct chain_link *links; /* performer only */
	size_t nlinks, caplinks;
	size_t hit;          /* index of the last link found: lines come in runs of one session */
	struct seal seal;    /* performer only, after chain_init */
	char key_path[4096]; /* SealKeyFile=: a key made later is taken at the tick */
	pthread_mutex_t mu;  /* finals, and the status copy */
	struct chain_final *finals;
	size_t nfinals, capfinals;
	bool seal_on;        /* status copy */
	uint64_t seal_epoch; /* status copy */
};

/* Takes the sealing key from key_path (none there: chains only).
 * 0 or -errno from the key (then chains only, the caller logs it). */
int chain_init(struct chain *c, const char *key_path);
void chain_fini(struct chain *c);

/* The line (len bytes, newline included) was written for owner to fd. */
void chain_wrote(struct chain *c, uint64_t owner, int fd, const char *line, size_t len);

/* Whether line is a session's end line (its checkpoint goes into it). */
bool chain_is_end(const char *line, size_t len);

/* The end line of owner with its checkpoint into out (cap >=
 * SHARD_LINE_MAX + CHK_MEMBER_MAX); its length, or -errno (then the line is
 * written as it is). chain_end_written once it is on disk. */
int chain_end_line(struct chain *c, uint64_t owner, const char *line, size_t len, char *out, size_t cap);
void chain_end_written(struct chain *c, uint64_t owner, const char *line, size_t len);

/* A checkpoint line for owner if one is due (bytes, or with timed, age):
 * its length with *fd to write it to, 0 when none is due. */
int chain_chk_due(struct chain *c, uint64_t owner, bool timed, int64_t now_ns, char *out, size_t cap, int *fd);
/* The checkpoint line (len bytes) chain_chk_due gave is on disk: it is
 * chained, and the count to the next one starts. */
void chain_chk_written(struct chain *c, uint64_t owner, const char *line, size_t len);
/* The owners a timed checkpoint is due for, one at a time: index *it. */
bool chain_next_timed(struct chain *c, size_t *it, int64_t now_ns, uint64_t *owner);

/* The seal key's epoch follows the clock; a key file made since the start
 * (sessrecctl keygen) is taken (the tick). */
void chain_tick(struct chain *c);

/* owner's chain continues from st (a resume). */
void chain_seed(struct chain *c, uint64_t owner, const struct chain_state *st);
/* owner's chain is dropped (fd closed, session gone). */
void chain_forget(struct chain *c, uint64_t owner);
void chain_fd_closed(struct chain *c, int fd);

/* The loop: owner's final checkpoint, once its end line is written
 * (taken: true once). */
bool chain_take_final(struct chain *c, uint64_t owner, struct chk *out);
/* The loop: whether seals are made, and the key's epoch. */
bool chain_sealing(struct chain *c, uint64_t *epoch);
