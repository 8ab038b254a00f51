/* authrec: one authentication (a failed or successful login) as the daemon
 * records it: the line of the daily auth-YYYY-MM-DD.jsonl beside the
 * shards (sessrec-shards(5), "Authentications"), and its auth_failed /
 * auth_succeeded event. The user name is whatever the client typed: it is
 * escaped in both (JSON, RFC 5424) and clipped so a line stays one write
 * under 4096 bytes. Convention: length or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define AUTHREC_LINE_MAX 4096
#define AUTHREC_USER_MAX 1024 /* escaped bytes of the user name in a line */

struct authrec {
	bool ok;     /* auth_succeeded, else auth_failed */
	int64_t sec; /* realtime of the attempt */
	long usec;
	const char *user;    /* as typed; NULL: unknown */
	const char *src_ip;  /* NULL: unknown (a local login) */
	int src_port;        /* 0: unknown */
	const char *service; /* the PAM service or "sshd" */
	const char *method;  /* password, publickey, keyboard-interactive/pam, none, pam */
	const char *reason;  /* failed: bad_password, key_rejected, invalid_user, disconnected, PAM's error... */
	const char *key_type, *key_fp; /* the key offered, when known */
	const char *source;            /* where the daemon learnt it: pam, journal, pam+journal */
	long pid;                      /* the process that authenticated (sshd's, login's), 0: unknown */
};

/* The line for a into buf (cap >= AUTHREC_LINE_MAX), newline included:
 * {"time":RFC3339,"event":"auth_failed","user":...,"src_ip":...,
 * "src_port":N,"service":...,"method":...,"reason":...,"key_type":...,
 * "key_fp":...,"source":...,"pid":N}; NULL fields, port 0 and pid 0 are
 * left out. Its length, or -ENOSPC. */
int authrec_format(char *buf, size_t cap, const struct authrec *a);

/* e as auth_failed or auth_succeeded with a's fields (borrowed, like
 * event_add; port and pid are written into the caller's 24-byte buffers). */
void authrec_event(struct event *e, const struct authrec *a, char *port, char *pid);

/* <dir>/auth-YYYY-MM-DD.jsonl for the UTC day of sec; length or
 * -ENAMETOOLONG. */
int authrec_path(char *buf, size_t cap, const char *dir, int64_t sec);
