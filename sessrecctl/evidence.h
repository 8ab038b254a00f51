/* evidence: sessrecctl export --evidence, a self-describing directory per
 * session for someone else to check (sessrecctl(1), export). Convention:
 * exit statuses. */
#pragma once
#include <stdbool.h>

#include "ctl.h"
#include "find.h"
#include "store.h"

/* DIR/SID/ for each sid prefix of sids[0..n): lines.jsonl, session.cast,
 * transcript.txt, manifest.json; key: a verification key file, or NULL. */
int evidence_run(struct ctl *ctl, const char *dir, const char *key, int n, char **sids);

/* The session tg of st as an asciicast (text: the transcript) into path
 * (export.c). */
int export_file(struct store *st, const struct find_target *tg, bool text, const char *path);
