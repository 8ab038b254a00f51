/* mapguard: the SIGBUS handler of the reader's mmap windows and the
 * registry of guarded windows it looks in. A signal handler knows only
 * globals, hence the one registry per process (a fixed array: registering
 * allocates nothing and the handler only reads it).
 * Convention: 0 or -errno, as declared in mapguard.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mapguard.h"

#define MAPGUARD_MAX 64 /* two windows per reader; sessrecctl opens a few readers at once */

static struct mapguard *_Atomic guards[MAPGUARD_MAX];
static uintptr_t page_mask;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_err;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr;

	(void)uc;
	for (int i = 0; i < MAPGUARD_MAX; i++) {
		struct mapguard *g = atomic_load(&guards[i]);
		char *page;

		if (!g || a < g->start || a >= g->start + g->len)
			continue;
		page = (char *)((uintptr_t)a & page_mask);
		if (mmap(page, (size_t)(g->start + g->len - page), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			break;
		g->faulted = 1;
		return; /* the access is made again, and reads zeros */
	}
	/* not a guarded window: the default action, when the access faults again */
	signal(sig, SIG_DFL);
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	page_mask = ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		install_err = -errno;
}

int mapguard_add(struct mapguard *g, void *start, size_t len)
{
	g->slot = -1;
	g->faulted = 0;
	g->start = start;
	g->len = len;
	pthread_once(&once, install);
	if (install_err)
		return install_err;
	for (int i = 0; i < MAPGUARD_MAX; i++) {
		struct mapguard *none = NULL;

		if (atomic_compare_exchange_strong(&guards[i], &none, g)) {
			g->slot = i;
			return 0;
		}
	}
	return -ENOSPC;
}

void mapguard_del(struct mapguard *g)
{
	if (g->slot >= 0)
		atomic_store(&guards[g->slot], NULL);
	g->slot = -1;
}
