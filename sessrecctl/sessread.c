/* sessread: one session's lines out of its shard, from its first line on,
 * for show, play and export: the lines of other sessions skipped, events
 * decoded. Convention: 0 or an exit status after one line on stderr,
 * unless stated in sessread.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "find.h"
#include "sessread.h"

static int sessread_open(struct sessread *s, struct store *st, const struct find_target *tg, bool follow)
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
