/* authwatch: every authentication the daemon hears of, as one auth_failed
 * or auth_succeeded event and one line of the day's auth file
 * (sessrecd(8), AUTHENTICATIONS). Two sources: pam_sessrec's authfail mode
 * (op authfail: a failed PAM authentication) and sshd's own journal lines
 * (authwatch_journal: rejected keys, invalid users, disconnects before
 * authentication, successes). One attempt seen by both is one event: a
 * PAM failure of sshd waits up to AUTHWATCH_PAIR_MS for sshd's "Failed
 * password" / "Failed keyboard-interactive" line of the same user and
 * address and is merged with it (source "pam+journal"); and per connection
 * (address and port) a disconnect is an event only when nothing before it
 * was. Convention: 0 or -errno. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct daemon;

/* pam_unix's failure delay (2 s, +-25%) runs after the module, before
 * sshd logs the attempt. */
#define AUTHWATCH_PAIR_MS 8000

/* What pam_sessrec authfail reports (strings borrowed, may be NULL). */
struct authwatch_pam {
	const char *user, *rhost, *service, *error;
	long pid; /* the peer's, from SO_PEERCRED */
};

/* Starts: the auth file (AuthLog=), sshd's journal (SshdJournal=). What
 * cannot be opened is logged once; the daemon goes on. 0 or -ENOMEM. */
int authwatch_start(struct daemon *d);

/* Writes what still waits for a pair and stops. Safe when never started. */
void authwatch_stop(struct daemon *d);

/* A failed PAM authentication (op authfail). */
void authwatch_pam_failure(struct daemon *d, const struct authwatch_pam *f);

/* One of sshd's log lines (MESSAGE), from its process pid at realtime usec. */
void authwatch_sshd_line(struct daemon *d, const char *msg, size_t n, long pid, int64_t usec);
