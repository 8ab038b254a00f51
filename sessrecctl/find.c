/* find: resolving a sid prefix to one session (a scan of the store, newest
 * shard first, stopping at an exact match) and streaming that session's
 * lines out of its shard, from its first line on.
 * Convention: 0 or an exit status after one line on stderr, unless stated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "session.h"

#define FIND_MAX_CANDIDATES 1000
#define FIND_SHOW_CANDIDATES 20

struct candidate {
	struct target tg;
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

static struct candidate *candidate(struct finder *f, const struct shardread_line *l,
				   const struct reader *r)
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

static void candidate_hdr(struct candidate *c, const char *line, size_t len)
{
	struct shardread_line l;
	struct sessinfo s = { 0 };

	if (shardread_parse(line, len, &l) < 0 || l.kind != SHARDREAD_HDR)
		goto out;
	if (sessinfo_hdr(&s, l.obj) == 0) {
		c->start = s.start;
		snprintf(c->user, sizeof(c->user), "%s", s.user ? s.user : "-");
	}
	sessinfo_free(&s);
out:
	shardread_release(&l);
}

/* One shard: every line whose sid has the prefix. */
static int scan_file(struct finder *f, struct store *st, size_t index)
{
	struct reader r;
	const char *line;
	size_t len;
	int n;

	if (reader_open(&r, st, index, 0, 0))
		return 0; /* reported; the other shards may still have it */
	while (!f->exact && (n = reader_next(&r, &line, &len)) == 1) {
		struct shardread_line l;
		bool parsed = false, same;

		if (shardread_peek(line, len, &l) < 0) {
			if (shardread_parse(line, len, &l) < 0)
				continue; /* the session's own reading reports it */
			parsed = true;
		}
		same = l.sid_len == f->last_len && memcmp(l.sid, f->last, l.sid_len) == 0;
		if (!same) {
			f->last_match = l.sid_len >= f->plen && memcmp(l.sid, f->prefix, f->plen) == 0;
			memcpy(f->last, l.sid, l.sid_len);
			f->last_len = l.sid_len;
		}
		/* a known candidate matters again only for its header */
		if (f->last_match && (!same || l.kind == SHARDREAD_HDR)) {
			struct candidate *c = candidate(f, &l, &r);

			if (c && l.kind == SHARDREAD_HDR)
				candidate_hdr(c, line, len);
		}
		if (parsed)
			shardread_release(&l);
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

	qsort(f->c, f->n, sizeof(*f->c), cmp_candidate);
	ctl_err("'%s' is ambiguous; it matches %s%zu sessions:", f->prefix,
		f->overflow ? "more than " : "", f->n);
	for (size_t i = 0; i < show; i++) {
		char when[32] = "-";

		if (f->c[i].start > 0)
			out_fmt_time_local(when, sizeof(when), f->c[i].start);
		fprintf(stderr, "  %s  %s  %s\n", f->c[i].tg.sid, when, f->c[i].user[0] ? f->c[i].user : "-");
	}
	if (f->n > show || f->overflow)
		fprintf(stderr, "  ...\n");
}

/* The one session whose sid is or starts with prefix. Unknown: "no session
 * matches 'X'"; ambiguous: the candidates are listed. Both exit status 1. */
static int session_find(struct store *st, const char *prefix, struct target *tg)
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
	store_progress_clear(st);
	if (f.exact) {
		*tg = f.c[f.n - 1].tg;
		r = 0;
	} else if (f.n == 1) {
		*tg = f.c[0].tg;
		r = 0;
	} else if (f.n == 0) {
		ctl_err("no session matches '%s'", prefix);
	} else {
		list_candidates(&f);
	}
	free(f.c);
	return r;
}

static int sessread_open(struct sessread *s, struct store *st, const struct target *tg, bool follow)
{
	memset(s, 0, sizeof(*s));
	s->tg = *tg;
	s->data = malloc(SHARDREAD_DECODE_MAX(SHARDREAD_LINE_MAX));
	if (!s->data) {
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	if (reader_open(&s->r, st, tg->file, tg->off, tg->lineno)) {
		free(s->data);
		s->data = NULL;
		return CTL_EXIT_ERROR;
	}
	s->r.follow = follow && !st->files[tg->file].gz;
	return 0;
}

int sessread_open_sid(struct sessread *s, struct store *st, struct ctl *ctl, const char *cmd,
		      int argc, char **argv, bool follow)
{
	struct target tg;
	int r;

	if (optind + 1 != argc)
		return ctl_usage_err(cmd, "%s", optind == argc ? "no SID given" : "one SID only");
	if ((r = store_open(st, ctl)) != 0)
		return r;
	if ((r = session_find(st, argv[optind], &tg)) != 0 || (r = sessread_open(s, st, &tg, follow)) != 0)
		store_close(st);
	return r;
}

void sessread_close(struct sessread *s)
{
	if (s->data)
		reader_close(&s->r);
	free(s->data);
	s->data = NULL;
}

static bool is_ours(const struct sessread *s, const struct shardread_line *l)
{
	return strlen(s->tg.sid) == l->sid_len && memcmp(s->tg.sid, l->sid, l->sid_len) == 0;
}

int sessread_next(struct sessread *s, struct shardread_line *l)
{
	const char *line;
	size_t len;
	int n;

	while (!s->ended && (n = reader_next(&s->r, &line, &len)) == 1) {
		ssize_t k;

		if (shardread_peek(line, len, l) == 0) {
			if (!is_ours(s, l))
				continue;
			if (l->kind == SHARDREAD_EVENT) {
				/* the common case: checked and decoded in one pass */
				k = shardread_event_decode(line, len, l, s->data, SHARDREAD_DECODE_MAX(len), !s->text);
				if (k >= 0) {
					s->ndata = (size_t)k;
					return 1;
				}
				if (k == -EBADMSG) {
					reader_corrupt(&s->r);
					continue;
				}
			}
			if (l->kind != SHARDREAD_TRUNC && shardread_read(line, len, l) < 0) {
				reader_corrupt(&s->r);
				continue;
			}
		} else if (shardread_parse(line, len, l) < 0) {
			reader_corrupt(&s->r); /* whose it is cannot be told */
			continue;
		}
		if (!is_ours(s, l)) {
			shardread_release(l);
			continue;
		}
		if (l->kind == SHARDREAD_EVENT) {
			k = s->text ? shardread_text(l, s->data, SHARDREAD_DECODE_MAX(len))
				    : shardread_bytes(l, s->data, SHARDREAD_DECODE_MAX(len));
			if (k < 0) {
				shardread_release(l);
				reader_corrupt(&s->r);
				continue;
			}
			s->ndata = (size_t)k;
		}
		if (l->kind == SHARDREAD_END)
			s->ended = true;
		return 1;
	}
	return s->ended ? 0 : n;
}
