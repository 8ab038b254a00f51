/* find: which session a sid prefix names, and where its lines are.
 * Convention: 0 or an exit status after one line on stderr. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "shardread.h"
#include "store.h"

/* Where a session's lines are. */
struct find_target {
	char sid[SHARDREAD_SID_MAX + 1];
	size_t file;          /* index in the store */
	uint64_t off, lineno; /* its first line: uncompressed offset, number - 1 */
};

/* The one session whose sid is or starts with prefix (the store scanned
 * newest first, stopping at an exact match), with its first line: in the
 * oldest file of its chain that has it (a rotation may cut a session). Unknown: "no session matches
 * 'X'"; ambiguous: the candidates are listed. Both exit status 1. */
int find_session(struct store *st, const char *prefix, struct find_target *tg);
