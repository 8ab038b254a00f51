/* sessread: one session's lines out of its shard, from its first line on
 * (and on into the next files of its chain, store.h, when a rotation cut
 * it), for show, play and export: the lines of other sessions skipped,
 * events decoded. Convention: 0 or an exit status after one line on stderr,
 * unless stated in sessread.h. */
#include <errno.h>
#include <string.h>

#include "sessread.h"

int sessread_open(struct sessread *s, struct store *st, const struct find_target *tg, bool follow)
{
	memset(s, 0, sizeof(*s));
	s->tg = *tg;
	if (reader_open(&s->r, st, tg->file, tg->off, tg->lineno))
		return CTL_EXIT_ERROR;
	s->r.follow = follow && !st->files[tg->file].gz;
	s->open = true;
	return 0;
}

int sessread_open_sid(struct sessread *s, struct store *st, struct ctl *ctl, const char *cmd, int argc, char **argv,
		      bool follow)
{
	struct find_target tg;
	int r;

	if (optind + 1 != argc)
		return ctl_usage_err(cmd, "%s", optind == argc ? "no SID given" : "one SID only");
	if ((r = store_open(st, ctl)) != 0)
		return r;
	if ((r = find_session(st, argv[optind], &tg)) != 0 || (r = sessread_open(s, st, &tg, follow)) != 0)
		store_close(st);
	return r;
}

void sessread_close(struct sessread *s)
{
	if (s->open)
		reader_close(&s->r);
	s->open = false;
	s->data = NULL;
}

static bool is_ours(const struct sessread *s, const struct shardread_line *l)
{
	return strlen(s->tg.sid) == l->sid_len && memcmp(s->tg.sid, l->sid, l->sid_len) == 0;
}

int sessread_next(struct sessread *s, const struct shardread_line **l)
{
	struct shardscan *sc = &s->r.scan;
	unsigned want = (s->text ? SHARDSCAN_TEXT : SHARDSCAN_BYTES) | SHARDSCAN_OBJ | SHARDSCAN_MEMBERS;
	int n, r;

	*l = &sc->l;
	while (!s->ended && (n = shardscan_next(sc)) == 1) {
		/* other sessions' lines are skipped unread */
		if (!is_ours(s, &sc->l))
			continue;
		if ((r = shardscan_take(sc, want)) == -EBADMSG)
			continue; /* reported */
		if (r < 0) {
			store_warn(s->r.st, "%s", strerror(-r));
			return -1;
		}
		if (!is_ours(s, &sc->l))
			continue; /* json-c found another sid (a repeated key) */
		s->data = sc->data;
		s->ndata = sc->ndata;
		if (sc->l.kind == SHARDREAD_END)
			s->ended = true;
		return 1;
	}
	if (n == 0 && !s->ended && !s->r.follow && store_same_chain(s->r.st, s->r.index, s->r.index + 1)) {
		/* a rotation cut the session: it goes on in the next file */
		struct store *st = s->r.st;
		size_t next = s->r.index + 1;

		reader_close(&s->r);
		s->open = false;
		if (reader_open(&s->r, st, next, 0, 0))
			return -1;
		s->open = true;
		return sessread_next(s, l);
	}
	return s->ended ? 0 : n;
}
