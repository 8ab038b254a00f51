/* mapguard: lets a reader survive a file that shrinks under its mmap
 * windows. A page of a shared file mapping past the file's new end faults
 * with SIGBUS, in whichever thread touches it; the guard's SIGBUS handler
 * puts zero pages over the rest of the guarded window instead and flags
 * it, and the access goes on. The reader checks the flag after each scan of
 * the window and cuts the window to the file's new size.
 * Convention: 0 or -errno. */
#pragma once
#include <signal.h>
#include <stddef.h>

struct mapguard {
	char *start; /* the window, while guarded */
	size_t len;
	volatile sig_atomic_t faulted; /* set by the handler: pages from a fault on are zeros now */
	int slot;                      /* in the registry, -1 when not guarded */
};

/* Guards [start, start + len) of a read-only file mapping through g, which
 * must stay where it is until mapguard_del. Installs the handler on first
 * use. -ENOSPC when too many windows are guarded at once (read the chunk
 * instead of mapping it); -errno if the handler cannot be installed. */
int mapguard_add(struct mapguard *g, void *start, size_t len);
/* Unguards g (before the window is unmapped); g->slot == -1 is a no-op. */
void mapguard_del(struct mapguard *g);
