/* sidtab: open addressing with linear probing, a cheap hash of the sid, a
 * one-entry cache, and an arena of 64 KiB blocks for the entries.
 * Convention: NULL on allocation failure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shardread.h"
#include "sidtab.h"

#define BLOCK (64u << 10)

struct sidtab_block {
	struct sidtab_block *next;
	size_t used, cap;
	max_align_t data[];
};

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

static int same(const struct sidtab *t, const void *entry, const char *sid, size_t n)
{
	const char *e = (const char *)entry + t->keyoff;

	if (n == 36) /* a constant size: compiled inline */
		return memcmp(e, sid, 36) == 0 && e[36] == 0;
	return memcmp(e, sid, n) == 0 && e[n] == 0;
}

static int grow(struct sidtab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024, j;
	void **ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		const char *k;

		if (!t->slot[i])
			continue;
		k = (const char *)t->slot[i] + t->keyoff;
		for (j = sid_hash(k, strlen(k)) & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

void *sidtab_get(struct sidtab *t, const char *sid, size_t n, int *added)
{
	size_t j;
	char *e;

	*added = 0;
	if (t->last && same(t, t->last, sid, n))
		return t->last;
	if (t->count * 2 >= t->cap && grow(t) < 0)
		return NULL;
	for (j = sid_hash(sid, n) & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1))
		if (same(t, t->slot[j], sid, n))
			return t->last = t->slot[j];
	if (n > SHARDREAD_SID_MAX || !(e = sidtab_alloc(t, t->keyoff + n + 1)))
		return NULL;
	memset(e, 0, t->keyoff);
	memcpy(e + t->keyoff, sid, n);
	e[t->keyoff + n] = 0;
	t->slot[j] = e;
	t->count++;
	*added = 1;
	return t->last = e;
}

void *sidtab_alloc(struct sidtab *t, size_t n)
{
	struct sidtab_block *b = t->blocks;
	size_t a = sizeof(max_align_t);

	n = (n + a - 1) / a * a;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > BLOCK ? n : BLOCK;

		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = t->blocks;
		t->blocks = b;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

void sidtab_clear(struct sidtab *t, void (*drop)(void *entry))
{
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slot[i] && drop)
			drop(t->slot[i]);
		t->slot[i] = NULL;
	}
	while (t->blocks) {
		struct sidtab_block *b = t->blocks;

		t->blocks = b->next;
		free(b);
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
