/* verifycore: the checks of sessrecctl verify, fed one stored line at a
 * time with where it is (file, line number), in file order: each
 * session's hash chain recomputed, its checkpoints compared, their seals
 * checked against a verification key, and the first bad place of each
 * session named (sessrec-shards(5), "Chains and checkpoints"; sessrecctl(1),
 * verify). Independent of how lines are read (day shards, gzip, an
 * evidence directory). Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chkseal.h"
#include "sidtab.h"

enum verify_damage {
	VD_NONE,
	VD_EDITED,    /* line edited */
	VD_MISSING,   /* line missing */
	VD_INSERTED,  /* line inserted */
	VD_REORDERED, /* lines reordered */
	VD_CUT,       /* chain cut before the end */
	VD_SEAL,      /* seal invalid */
	VD_EPOCH,     /* seal from a skipped epoch */
};

/* A place in the files: the file's index in verify's names, line number. */
struct verify_at {
	int file; /* -1: none */
	uint64_t line;
	double t; /* of the session's line there, -1: none */
};

struct verify_sess {
	uint64_t n;              /* lines chained */
	uint8_t h[CHK_HASH_LEN]; /* h_n */
	uint64_t nchk;           /* checkpoints that matched */
	uint64_t since;          /* lines since the last good checkpoint */
	bool started, ended, sealed_all, any_sealed;
	int64_t start;             /* hdr timestamp */
	double last_t;             /* t of its last line with one */
	uint64_t last_epoch;       /* of its last sealed checkpoint */
	int64_t last_time;         /* time of its last checkpoint */
	struct verify_at first;    /* its first line */
	struct verify_at good;     /* its last good checkpoint (or the header) */
	struct verify_at after;    /* the first line after it */
	struct verify_at reorder;  /* the first line since it whose t went back */
	enum verify_damage damage; /* the first */
	struct verify_at bad;      /* the first line it may be at (exact for a line out of order) */
	struct verify_at found;    /* where it was found (the checkpoint that did not match) */
	char detail[160];
	uint8_t final_h[CHK_HASH_LEN]; /* the end line's checkpoint */
	struct chk last_chk;
	bool selected;
	char sid[];
};

struct verify {
	struct sidtab tab;
	bool have_key;
	struct chk_key k0, kc;                    /* the verification key; the last derived */
	bool (*want)(void *arg, const char *sid); /* NULL: every session */
	void *want_arg;
	uint64_t corrupt; /* lines that are no shard line at all */
};

void verify_init(struct verify *v, const struct chk_key *k0);
void verify_free(struct verify *v);

/* One stored line (len bytes, no newline) at file:line. -ENOMEM. */
int verify_line(struct verify *v, int file, uint64_t lineno, const char *line, size_t len);

/* After the last line: what to say about a session that has no end line
 * (live: verified up to its last checkpoint; else cut). */
void verify_finish(struct verify *v, bool (*live)(void *arg, const char *sid), void *arg);

/* The name of a damage kind ("line edited", ...). */
const char *verify_damage_name(enum verify_damage d);

/* Calls fn for every session, in no particular order. */
void verify_each(struct verify *v, void (*fn)(void *arg, struct verify_sess *s), void *arg);

/* The verification key in the file at path (sessrecctl keygen printed it):
 * 0, or an exit status after one line on stderr. */
int verify_load_key(const char *path, struct chk_key *k0);
