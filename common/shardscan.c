/* shardscan: a stream of shard lines read through shardread's fast path,
 * json-c judging whatever the fast path gives up on. Convention: 0 or
 * -errno, as stated in shardscan.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shardscan.h"

void shardscan_init(struct shardscan *sc, const struct shardscan_src *src)
{
	memset(sc, 0, sizeof(*sc));
	sc->src = *src;
}

static void drop_line(struct shardscan *sc)
{
	if (sc->parsed)
		shardread_release(&sc->l);
	sc->parsed = false;
	sc->ndata = 0;
	sc->nm = 0;
}

void shardscan_free(struct shardscan *sc)
{
	drop_line(sc);
	free(sc->data);
	free(sc->m);
	sc->data = NULL;
	sc->m = NULL;
	sc->mcap = 0;
}

static int corrupt(struct shardscan *sc)
{
	if (!sc->quiet)
		sc->src.corrupt(sc->src.ctx);
	return -EBADMSG;
}

int shardscan_next(struct shardscan *sc)
{
	int n, r;

	drop_line(sc);
	while ((n = sc->src.next(sc->src.ctx, &sc->line, &sc->len)) == 1) {
		if (shardread_peek(sc->line, sc->len, &sc->l) == 0)
			return 1;
		if ((r = shardread_parse(sc->line, sc->len, &sc->l)) == 0) {
			sc->parsed = true;
			return 1;
		}
		if (r == -ENOMEM)
			return -1; /* no line can be judged */
		corrupt(sc);
	}
	return n;
}

static int grow_members(struct shardscan *sc, size_t need)
{
	struct shardread_member *m;

	if (need <= sc->mcap)
		return 0;
	if (!(m = realloc(sc->m, need * sizeof(*m))))
		return -ENOMEM;
	sc->m = m;
	sc->mcap = need;
	return 0;
}

/* The line as json-c parsed it: its event bytes or members. */
static int take_parsed(struct shardscan *sc, unsigned want)
{
	struct shardread_line *l = &sc->l;
	ssize_t k;
	size_t n;
	int r;

	if (l->kind == SHARDREAD_EVENT && (want & (SHARDSCAN_BYTES | SHARDSCAN_TEXT))) {
		k = want & SHARDSCAN_BYTES ? shardread_bytes(l, sc->data, SHARDREAD_DECODE_MAX(sc->len))
					   : shardread_text(l, sc->data, SHARDREAD_DECODE_MAX(sc->len));
		if (k < 0)
			return corrupt(sc);
		sc->ndata = (size_t)k;
	}
	if ((l->kind == SHARDREAD_HDR || l->kind == SHARDREAD_END) && (want & SHARDSCAN_MEMBERS)) {
		if ((r = shardread_obj_members(l->obj, sc->m, sc->mcap, &n)) == -ENOSPC) {
			if ((r = grow_members(sc, n)) < 0)
				return r;
			r = shardread_obj_members(l->obj, sc->m, sc->mcap, &n);
		}
		if (r < 0)
			return r;
		sc->nm = n;
	}
	return 0;
}

int shardscan_take(struct shardscan *sc, unsigned want)
{
	struct shardread_line *l = &sc->l;
	ssize_t k;
	int r;

	if ((want & (SHARDSCAN_BYTES | SHARDSCAN_TEXT)) && !sc->data &&
	    !(sc->data = malloc(SHARDREAD_DECODE_MAX(SHARDREAD_LINE_MAX))))
		return -ENOMEM;
	if ((want & SHARDSCAN_MEMBERS) && (r = grow_members(sc, SHARDREAD_MEMBERS_MAX)) < 0)
		return r;
	if (!sc->parsed) {
		if (l->kind == SHARDREAD_EVENT) {
			if (!(want & (SHARDSCAN_BYTES | SHARDSCAN_TEXT)))
				return 0;
			/* the common case: checked and decoded in one pass */
			k = shardread_event_decode(sc->line, sc->len, l, sc->data, SHARDREAD_DECODE_MAX(sc->len),
						   want & SHARDSCAN_BYTES);
			if (k >= 0) {
				sc->ndata = (size_t)k;
				return 0;
			}
			if (k == -EBADMSG)
				return corrupt(sc);
		} else if (l->kind == SHARDREAD_TRUNC) {
			return 0; /* the fast path read all of it */
		} else if (!(want & SHARDSCAN_OBJ)) {
			if (!(want & SHARDSCAN_MEMBERS) || (l->kind != SHARDREAD_HDR && l->kind != SHARDREAD_END))
				return 0;
			if (shardread_members(sc->line, sc->len, l, sc->m, &sc->nm) == 0)
				return 0;
		}
		if ((r = shardread_parse(sc->line, sc->len, l)) < 0)
			return r == -ENOMEM ? r : corrupt(sc);
		sc->parsed = true;
	}
	return take_parsed(sc, want);
}
