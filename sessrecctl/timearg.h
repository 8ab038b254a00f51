/* timearg: the time syntax of --since / --until, and the RFC 3339 times of
 * shard headers (meta.start). Pure functions of their input and of the
 * given "now" (and TZ for local times): unit-tested in test_ctl_timearg.c.
 * Convention: 0 or -EINVAL. */
#pragma once
#include <time.h>

/* A point in time as users write it (sessrecctl(1), TIME):
 *   "YYYY-MM-DD" (local midnight), "YYYY-MM-DD HH:MM[:SS[.f]]" or with 'T'
 *   (local time, unless a zone follows: 'Z' or +HH:MM / -HH:MM),
 *   "@UNIX" (seconds since the epoch, fraction allowed),
 *   "now", "today", "yesterday" (local midnight),
 *   an age before now: N followed by s, m, h, d or w, optionally " ago".
 * Into *out as unix seconds. */
int timearg_parse(const char *s, time_t now, double *out);

/* RFC 3339 only: "YYYY-MM-DD(T|t| )HH:MM[:SS[.f]](Z|z|+HH:MM|-HH:MM)". */
int timearg_rfc3339(const char *s, double *out);
