/* sessread: reading one session's lines, found by a sid prefix.
 * Convention: 0 or an exit status after one line on stderr, unless stated. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "find.h"
#include "reader.h"
#include "shardread.h"
#include "store.h"

struct sessread {
	struct reader r;
	struct find_target tg;
	bool ended;    /* its end line has been returned */
	bool text;     /* decode "d" (text views) rather than the exact bytes */
	bool open;     /* r is open */
	uint8_t *data; /* EVENT lines: the decoded bytes (the reader's) */
	size_t ndata;
};

/* What show, play and export start with: argv[optind] must be the only
 * operand left (else a usage error for cmd); opens the store and the one
 * session whose sid is or starts with it (store scanned newest first;
 * unknown: "no session matches 'X'", ambiguous: the candidates are listed).
 * 0 with both open (the caller closes s, then st); else an exit status
 * with neither open. */
int sessread_open_sid(struct sessread *s, struct store *st, struct ctl *ctl, const char *cmd, int argc, char **argv,
		      bool follow);
/* Opens the session tg of st (found by find_session) at its first line. */
int sessread_open(struct sessread *s, struct store *st, const struct find_target *tg, bool follow);

/* 1 with the session's next line in *l, valid until the next call: l->obj
 * (the line parsed whole) for every kind but EVENT and TRUNC, the members
 * of HDR and END lines in s->r.scan.m[0..nm), the bytes of EVENT lines in
 * s->data. 0 when there is none (s->ended once the end line was returned;
 * else the end of the file, for now when following); -1 on a read error
 * (reported). Corrupt lines that may be the session's are reported and
 * skipped. */
int sessread_next(struct sessread *s, const struct shardread_line **l);
void sessread_close(struct sessread *s);
