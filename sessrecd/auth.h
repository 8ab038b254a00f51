/* auth: the attach judgement (docs/architecture.md, "Trust boundaries"; sessrecd(8)): who
 * may take a session, read from /proc and the fds themselves, never from
 * what the peer claims. The parsers are pure so they are unit-tested.
 * Convention: 0 or -errno unless said otherwise. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct session_state;

/* The device a /proc/PID/stat tty_nr names (major bits 8-19, minor bits
 * 0-7 and 20-31); 0 for "no controlling terminal". */
dev_t auth_tty_nr_dev(unsigned long tty_nr);

/* tty_nr (field 7) from the text of /proc/PID/stat; the command name
 * (field 2) may hold spaces and parentheses, so fields are counted after
 * the last ')'. 0 or -EINVAL. */
int auth_parse_stat_tty(const char *text, unsigned long *tty_nr);

/* The session id (field 6) from the text of /proc/PID/stat. 0 or -EINVAL. */
int auth_parse_stat_session(const char *text, pid_t *sid);

/* PPid: from the text of /proc/PID/status. 0 or -EINVAL. */
int auth_parse_status_ppid(const char *text, pid_t *ppid);

/* The number in /proc/PID/sessionid (an unsigned 32-bit value). */
int auth_parse_sessionid(const char *text, int64_t *id);

/* Whether an audit session id is a real one (not unset: -1 / 4294967295). */
bool auth_audit_set(int64_t id);

/* Compares two tokens in time independent of where they differ. */
bool auth_token_equal(const char *a, const char *b);

/* The same, read from /proc for pid. */
/* The controlling tty (0: none) and, unless session is NULL, the session
 * id of pid, from one reading of /proc/PID/stat. */
int auth_proc_ctty(pid_t pid, dev_t *dev, pid_t *session);
int auth_proc_ppid(pid_t pid, pid_t *ppid);
/* The parent (field 4) and session id (field 6) of pid, from one reading
 * of /proc/PID/stat. */
int auth_proc_place(pid_t pid, pid_t *ppid, pid_t *session);
int auth_proc_sessionid(pid_t pid, int64_t *id);

/* 1 when pid is ancestor or descends from it (PPid walked up to pid 1),
 * 0 when not, -errno when /proc cannot tell. */
int auth_descends(pid_t pid, pid_t ancestor);

/* The checks after the token: the peer's uid is the session's; for a tty
 * attach (nfds == 1) fds[0] is a terminal (character device) that is the
 * peer's controlling tty (*leader: the peer also leads that terminal's
 * session, a login); the peer descends from
 * the pid that opened the session; its audit session is the registered one
 * when one was. 0 when all hold, else -EPERM with the reason in why. */
int auth_attach_check(const struct session_state *st, const struct ucred *peer, const int *fds, size_t nfds,
		      bool *leader, char *why, size_t cap);
