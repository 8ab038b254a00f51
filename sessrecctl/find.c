/* find: resolving a sid prefix to one session: a scan of the store, newest
 * shard first, stopping at an exact match; then the session's first line,
 * which may sit in an older file of the same chain (store.h).
 * Convention: 0 or an exit status after one line on stderr, unless stated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "find.h"
#include "out.h"
#include "reader.h"
#include "sessinfo.h"

#define FIND_MAX_CANDIDATES 1000
#define FIND_SHOW_CANDIDATES 20

struct candidate {
	struct find_target tg;
	double start;
	char user[33];
};

struct finder {
	const char *prefix;
	size_t plen;
	struct candidate *c;
	size_t n;
	bool overflow;
	bool exact;                   /* c[n-1] is an exact match */
	char last[SHARDREAD_SID_MAX]; /* sid of the previous line: most lines repeat it */
	size_t last_len;
	bool last_match;
};

static struct candidate *candidate(struct finder *f, const struct shardread_line *l, const struct reader *r)
{
	for (size_t i = 0; i < f->n; i++)
		if (strlen(f->c[i].tg.sid) == l->sid_len && memcmp(f->c[i].tg.sid, l->sid, l->sid_len) == 0)
			return &f->c[i];
	if (f->n == FIND_MAX_CANDIDATES) {
		f->overflow = true;
		return NULL;
	}
	struct candidate *c = &f->c[f->n++];

	memset(c, 0, sizeof(*c));
	memcpy(c->tg.sid, l->sid, l->sid_len);
	c->tg.file = r->index;
	c->tg.off = r->line_off;
	c->tg.lineno = r->lineno - 1;
	if (l->sid_len == f->plen)
		f->exact = true; /* the scan stops with it last */
	return c;
}

/* The start and user of a candidate, from its header line. */
static void candidate_hdr(struct candidate *c, struct shardscan *sc)
{
	struct sessinfo s = { 0 };

	if (shardscan_take(sc, SHARDSCAN_MEMBERS) < 0 || sc->l.kind != SHARDREAD_HDR)
		return;
	if (sessinfo_hdr(&s, sc->m, sc->nm) == 0) {
		c->start = s.start;
		snprintf(c->user, sizeof(c->user), "%s", s.user ? s.user : "-");
	}
	sessinfo_free(&s);
}

/* One shard: every line whose sid has the prefix. */
static int scan_file(struct finder *f, struct store *st, size_t index)
{
	struct reader r;
	const struct shardread_line *l = &r.scan.l;
	bool same;

	if (reader_open(&r, st, index, 0, 0))
		return 0;    /* reported; the other shards may still have it */
	r.scan.quiet = true; /* the session's own reading reports its corrupt lines */
	while (!f->exact && shardscan_next(&r.scan) == 1) {
		same = l->sid_len == f->last_len && memcmp(l->sid, f->last, l->sid_len) == 0;
		if (!same) {
			f->last_match = l->sid_len >= f->plen && memcmp(l->sid, f->prefix, f->plen) == 0;
			memcpy(f->last, l->sid, l->sid_len);
			f->last_len = l->sid_len;
		}
		/* a known candidate matters again only for its header */
		if (f->last_match && (!same || l->kind == SHARDREAD_HDR)) {
			struct candidate *c = candidate(f, l, &r);

			if (c && l->kind == SHARDREAD_HDR)
				candidate_hdr(c, &r.scan);
		}
	}
	reader_close(&r);
	return 0;
}

static int cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	return x->start < y->start ? 1 : x->start > y->start ? -1 : strcmp(x->tg.sid, y->tg.sid);
}

static void list_candidates(struct finder *f)
{
	size_t show = f->n < FIND_SHOW_CANDIDATES ? f->n : FIND_SHOW_CANDIDATES;
	struct out o;

	qsort(f->c, f->n, sizeof(*f->c), cmp_candidate);
	ctl_err("'%s' is ambiguous; it matches %s%zu sessions:", f->prefix, f->overflow ? "more than " : "", f->n);
	if (out_init(&o, STDERR_FILENO, 4096) < 0)
		return;
	for (size_t i = 0; i < show; i++) {
		char when[32] = "-";

		if (f->c[i].start > 0)
			out_fmt_time_local(when, sizeof(when), f->c[i].start);
		/* the user is the shard's: escaped like every recorded string */
		out_printf(&o, "  %s  %s  ", f->c[i].tg.sid, when);
		out_safe_str(&o, f->c[i].user[0] ? f->c[i].user : "-");
		out_write(&o, "\n", 1);
	}
	if (f->n > show || f->overflow)
		out_str(&o, "  ...\n");
	out_close(&o);
}

/* The session's first line in a file older than tg's in its chain (a
 * rotation cut it), if any: the oldest such file wins. */
static void find_earliest(struct store *st, struct find_target *tg)
{
	size_t last = tg->file, len = strlen(tg->sid);

	for (size_t i = last; i-- > 0 && store_same_chain(st, i, last);) {
		struct reader r;
		const struct shardread_line *l = &r.scan.l;

		if (reader_open(&r, st, i, 0, 0))
			continue;
		r.scan.quiet = true;
		while (shardscan_next(&r.scan) == 1) {
			if (l->sid_len == len && memcmp(l->sid, tg->sid, len) == 0) {
				tg->file = i;
				tg->off = r.line_off;
				tg->lineno = r.lineno - 1;
				break;
			}
		}
		reader_close(&r);
	}
}

int find_session(struct store *st, const char *prefix, struct find_target *tg)
{
	struct finder f = { .prefix = prefix, .plen = strlen(prefix) };
	int r = CTL_EXIT_ERROR;

	if (!shardread_sid_valid(prefix, f.plen)) {
		ctl_err("no session matches '%s'", prefix);
		return CTL_EXIT_ERROR;
	}
	f.c = calloc(FIND_MAX_CANDIDATES, sizeof(*f.c));
	if (!f.c) {
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	for (size_t i = st->nfiles; i-- > 0 && !f.exact;)
		scan_file(&f, st, i);
	if (f.exact || f.n == 1) {
		*tg = f.c[f.exact ? f.n - 1 : 0].tg;
		find_earliest(st, tg);
		r = 0;
	}
	store_progress_clear(st);
	if (r != 0 && f.n == 0)
		ctl_err("no session matches '%s'", prefix);
	else if (r != 0)
		list_candidates(&f);
	free(f.c);
	return r;
}
