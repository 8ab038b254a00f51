/* sidtab: open addressing with linear probing, a word-at-a-time hash of the
 * sid, and a one-entry cache. Convention: NULL on allocation failure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shardread.h"
#include "sidtab.h"

/* UUIDs: the first and last eight characters are random hex, enough to
 * spread them; other sids are hashed whole. */
static uint64_t sid_hash(const char *s, size_t n)
{
	uint64_t h = n * 0x9e3779b97f4a7c15ull, a, b;

	if (n == 36) {
		memcpy(&a, s, 8);
		memcpy(&b, s + 28, 8);
		h = (h ^ a) * 0xff51afd7ed558ccdull;
		h = (h ^ (h >> 32) ^ b) * 0xc4ceb9fe1a85ec53ull;
		return h ^ (h >> 29);
	}
	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&a, s, 8);
		h = (h ^ a) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	a = 0;
	memcpy(&a, s, n);
	h = (h ^ a) * 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

static int same(const char *e, const char *sid, size_t n)
{
	if (n == 36) /* a constant size: compiled inline */
		return memcmp(e, sid, 36) == 0 && e[36] == 0;
	return memcmp(e, sid, n) == 0 && e[n] == 0;
}

static int grow(struct sidtab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024, j;
	char **ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slot[i])
			continue;
		for (j = sid_hash(t->slot[i], strlen(t->slot[i])) & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

void *sidtab_get(struct sidtab *t, const char *sid, size_t n, size_t size, int *added)
{
	size_t j;
	char *e;

	*added = 0;
	if (t->last && same(t->last, sid, n))
		return t->last;
	if (t->count * 2 >= t->cap && grow(t) < 0)
		return NULL;
	for (j = sid_hash(sid, n) & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1))
		if (same(t->slot[j], sid, n))
			return t->last = t->slot[j];
	if (n > SHARDREAD_SID_MAX || !(e = calloc(1, size)))
		return NULL;
	memcpy(e, sid, n);
	t->slot[j] = e;
	t->count++;
	*added = 1;
	return t->last = e;
}

void sidtab_clear(struct sidtab *t, void (*drop)(void *entry))
{
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slot[i])
			drop(t->slot[i]);
		t->slot[i] = NULL;
	}
	t->count = 0;
	t->last = NULL;
}

void sidtab_free(struct sidtab *t, void (*drop)(void *entry))
{
	sidtab_clear(t, drop);
	free(t->slot);
	t->slot = NULL;
	t->cap = 0;
}
