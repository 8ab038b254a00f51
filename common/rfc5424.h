/* rfc5424: the syslog line formatter (RFC 5424, SD-PARAM escaping per §6.3.3).
 * Convention: length or -errno. */
#pragma once
#include <stddef.h>
#include <time.h>

struct rfc5424_param {
	const char *name;  /* SD-NAME: printable ASCII without '=', ' ', ']', '"' (checked) */
	const char *value; /* escaped here: '\\', '"', ']' get a backslash; control chars dropped */
};

/* Formats "<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SDID p="v" ...] MSG" with
 * no trailing newline. NULL or empty header fields become "-" (NILVALUE);
 * header fields are clipped to RFC lengths and non-printable characters
 * replaced by '_'. msg may be NULL. ts in UTC with microseconds (NULL: now).
 * An invalid sdid gives "-" (no SD); params with an invalid name or NULL
 * value are skipped; a param that does not fit whole is left out, MSG is
 * clipped at a character boundary (control characters become spaces, invalid
 * UTF-8 becomes U+FFFD, as in values). The line plus NUL never exceeds cap.
 * Returns the length, -ENOSPC if buf (cap bytes) cannot hold the header and
 * SD-ID, -EINVAL if pri is outside 0..191. */
int rfc5424_format(char *buf, size_t cap, int pri, const struct timespec *ts, const char *host, const char *app,
		   const char *procid, const char *msgid, const char *sdid, const struct rfc5424_param *params,
		   size_t nparams, const char *msg);

/* Escapes one SD-PARAM value into dst (NUL-terminated, clipped at cap, never
 * inside a character or an escape pair; invalid UTF-8 becomes U+FFFD);
 * returns the length written. */
size_t rfc5424_escape(char *dst, size_t cap, const char *src);
