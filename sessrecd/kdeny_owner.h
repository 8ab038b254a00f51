/* kdeny_owner: which recorded session a process the kernel refused belongs
 * to (sessrecd(8), KERNEL DENIALS): by its audit session id, else by its
 * place under the session's terminal (session id, ancestry from /proc),
 * else by the pid namespace or cgroup of the session's shell when those
 * are the session's own; pids attributed are remembered a few seconds so a
 * process killed by its filter is still known by its earlier denials.
 * This is the one lookup kdeny uses: a process tracker (issue 12) can take
 * its place here. Convention: lookups return NULL when nothing matches. */
#pragma once
#include <stdint.h>

struct daemon;
struct session;

#define KDENY_OWNER_PIDS 256
#define KDENY_OWNER_TTL_MS 10000

struct kdeny_owner {
	struct {
		long pid;
		uint64_t serial; /* the session's; 0: free */
		int64_t seen_ms;
	} pids[KDENY_OWNER_PIDS];
	unsigned next;
	char pidns[64];   /* the daemon's own pid namespace ("pid:[N]") */
	char cgroup[512]; /* the daemon's own cgroup (v2 path) */
};

/* Reads the daemon's own pid namespace and cgroup (what does not single
 * out a session). */
void kdeny_owner_init(struct kdeny_owner *o);

/* The live recorded session (relaying, draining, a command) that pid
 * (audit session ses, -1: none) belongs to, or NULL. */
struct session *kdeny_owner(struct daemon *d, struct kdeny_owner *o, long pid, int64_t ses, int64_t now_ms);
