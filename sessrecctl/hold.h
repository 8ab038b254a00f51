/* hold: the legal hold list of retention (sessrecd.conf(5), LegalHold=,
 * LegalHoldFile=): user names, session ids and sid prefixes whose sessions
 * `sessrecctl prune` never deletes. Convention: 0 or -errno. */
#pragma once
#include <stddef.h>

#define HOLD_PREFIX_MIN 8 /* a sid prefix this long names the sessions it starts */

struct hold {
	char **v;
	size_t n;
};

/* The entries of text added: separated by commas and blanks, "#" to the
 * end of a line a comment. 0 or -ENOMEM. */
int hold_add_text(struct hold *h, const char *text);

/* inline (LegalHold=) and the file at path (LegalHoldFile=; NULL or empty:
 * none; missing: holds nothing). 0, -ENOMEM, or the -errno of a file that
 * cannot be read (the caller stops: what is on hold is not known). */
int hold_load(struct hold *h, const char *inline_list, const char *path);

/* The entry that holds the session sid (sid_len bytes, not terminated) of
 * user (may be NULL): the whole sid, a prefix of it of HOLD_PREFIX_MIN
 * characters or more, or the user name; NULL when none does. */
const char *hold_match(const struct hold *h, const char *sid, size_t sid_len, const char *user);

void hold_free(struct hold *h);
