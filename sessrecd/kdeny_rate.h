/* kdeny_rate: a session's kernel denials into its shard ("deny" lines) and
 * session_denied events, summarised so a process hammering a denied
 * syscall cannot flood either: the first denial of a pid, kind, syscall
 * (or LSM operation) and action in a second is written at once, the rest
 * of that second are counted and written as one line with "count" when the
 * second is over. The counts are exact: every record the kernel delivered
 * is in exactly one line. Convention: void; the state is fixed-size. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "auditrec.h"

struct daemon;
struct session;

#define KDENY_BUCKETS 64

struct kdeny_bucket {
	uint64_t serial;     /* the session's, 0: free */
	struct auditrec rec; /* the first denial of the second */
	uint64_t more;       /* denials after the first within rec.sec */
	int64_t idle_ms;     /* monotonic: the last denial */
};

struct kdeny_rate {
	struct kdeny_bucket b[KDENY_BUCKETS];
	uint64_t denials; /* attributed, since the start */
};

/* One attributed denial r of session s. */
void kdeny_rate_take(struct daemon *d, struct kdeny_rate *k, struct session *s, const struct auditrec *r,
		     int64_t now_ms);

/* Writes the summaries of session s now (it is ending) and frees its
 * buckets. */
void kdeny_rate_session(struct daemon *d, struct kdeny_rate *k, const struct session *s);

/* Writes the summaries of seconds before now_sec (realtime; all when
 * all) and frees buckets idle for two seconds. Whether buckets remain. */
bool kdeny_rate_flush(struct daemon *d, struct kdeny_rate *k, int64_t now_sec, int64_t now_ms, bool all);
