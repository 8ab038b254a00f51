/* authwatch_journal: sshd's own lines in the journal (_COMM=sshd), read
 * with sd-journal in the daemon's loop (sd_journal_get_fd) and handed to
 * authwatch_sshd_line. The cursor of the last entry read is kept in
 * <StateDirectory>/sshd-journal.cursor (written atomically by the disk
 * writer), so a restarted daemon reads on from there: no line twice, none
 * missed while it was down; without a cursor it starts at the journal's
 * end. Convention: NULL / void; failures are logged once. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct authwatch_journal;

#define AUTHWATCH_JOURNAL_BATCH 512 /* entries per turn of the loop */

/* Where each line goes: MESSAGE (n bytes), _PID, the realtime in usec. */
typedef void (*authwatch_line_fn)(struct daemon *d, const char *msg, size_t n, long pid, int64_t usec);

/* Opens the journal and starts following it, each line to fn; NULL
 * (logged) when it cannot. */
struct authwatch_journal *authwatch_journal_start(struct daemon *d, authwatch_line_fn fn);

/* Stops following (the cursor is already saved). Safe with NULL. */
void authwatch_journal_stop(struct daemon *d, struct authwatch_journal *j);
