/* cmdmatch: which sessions ran a command matching a pattern (list and
 * grep --command PATTERN): their exec records' argv, joined by spaces,
 * against a POSIX extended regular expression.
 * Convention: 0 or -errno. */
#pragma once
#include <regex.h>
#include <stdbool.h>

#include "sidtab.h"
#include "store.h"

struct cmdmatch_sid {
	bool hit;
	char sid[];
};

/* Scans every shard of st and marks in tab (keyoff of struct
 * cmdmatch_sid) the sessions with an exec whose argv matches re. */
int cmdmatch_collect(struct store *st, const regex_t *re, struct sidtab *tab);

/* Whether tab marks sid. */
bool cmdmatch_has(struct sidtab *tab, const char *sid);

/* The argv of an exec record as one line: arguments joined by spaces,
 * at most cap - 1 bytes, NUL-terminated; "" when unknown. */
struct json_object;
void cmdmatch_argv_text(struct json_object *exec, char *buf, size_t cap);
