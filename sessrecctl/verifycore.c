/* verifycore: each session's chain, checkpoints and seals recomputed from
 * its stored lines (see verifycore.h). Convention: 0 or -errno. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chk.h"
#include "ctl.h"
#include "shardread.h"
#include "verifycore.h"

#define EPOCH_SLACK 60 /* s: a checkpoint's time may pass its next line's by this (clock drift) */

void verify_init(struct verify *v, const struct chk_key *k0)
{
	memset(v, 0, sizeof(*v));
	v->tab.keyoff = offsetof(struct verify_sess, sid);
	if (k0) {
		v->have_key = true;
		v->k0 = *k0;
		v->kc = *k0;
	}
}

void verify_free(struct verify *v)
{
	sidtab_free(&v->tab, NULL);
}

const char *verify_damage_name(enum verify_damage d)
{
	static const char *const names[] = {
		[VD_NONE] = "ok",
		[VD_EDITED] = "line edited",
		[VD_MISSING] = "line missing",
		[VD_INSERTED] = "line inserted",
		[VD_REORDERED] = "lines reordered",
		[VD_CUT] = "chain cut before the end",
		[VD_SEAL] = "seal invalid",
		[VD_EPOCH] = "seal from a skipped epoch",
	};
	return names[d];
}

static struct verify_at here(int file, uint64_t line, double t)
{
	return (struct verify_at){ .file = file, .line = line, .t = t };
}

/* The first damage of s: it lies at first or after it, up to found. */
static void damage(struct verify_sess *s, enum verify_damage d, struct verify_at first, struct verify_at found,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void damage(struct verify_sess *s, enum verify_damage d, struct verify_at first, struct verify_at found,
		   const char *fmt, ...)
{
	va_list ap;

	if (s->damage)
		return;
	s->damage = d;
	s->bad = first;
	s->found = found;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
}

/* The key of epoch e, derived forwards from the last one when it can be. */
static const struct chk_key *key_at(struct verify *v, uint64_t e)
{
	if (e < v->kc.epoch)
		v->kc = v->k0;
	(void)chk_key_to(&v->kc, e);
	return &v->kc;
}

/* The seal of a checkpoint that matched its chain. */
static void check_seal(struct verify *v, struct verify_sess *s, const struct chk *c, struct verify_at at)
{
	const struct chk_key *k0 = &v->k0;

	if (!c->sealed) {
		s->sealed_all = false;
		if (v->have_key && c->time >= k0->start)
			damage(s, VD_SEAL, at, at, "checkpoint without a seal (n=%llu)", (unsigned long long)c->n);
		return;
	}
	s->any_sealed = true;
	if (!v->have_key)
		return;
	if (c->epoch < s->last_epoch)
		damage(s, VD_EPOCH, at, at, "epoch %llu after epoch %llu", (unsigned long long)c->epoch,
		       (unsigned long long)s->last_epoch);
	else if (c->time < k0->start + (int64_t)(c->epoch * k0->len) ||
		 c->time >= k0->start + (int64_t)((c->epoch + 1) * k0->len))
		damage(s, VD_EPOCH, at, at, "epoch %llu does not contain its time %lld", (unsigned long long)c->epoch,
		       (long long)c->time);
	else if (!chk_seal_ok(key_at(v, c->epoch), s->sid, c))
		damage(s, VD_SEAL, at, at, "the seal of checkpoint n=%llu (epoch %llu) is not the key's",
		       (unsigned long long)c->n, (unsigned long long)c->epoch);
	s->last_epoch = c->epoch;
}

/* A checkpoint after the session's n lines (h): the damage between it and
 * the last good one, if any, then its seal. */
static void check_chk(struct verify *v, struct verify_sess *s, const struct chk *c, uint64_t n,
		      const uint8_t h[CHK_HASH_LEN], struct verify_at at)
{
	struct verify_at from = s->after.file >= 0 ? s->after : at;

	if (c->n != n || memcmp(c->h, h, CHK_HASH_LEN) != 0) {
		enum verify_damage d = c->n > n               ? VD_MISSING
				       : c->n < n             ? VD_INSERTED
				       : s->reorder.file >= 0 ? VD_REORDERED
							      : VD_EDITED;

		damage(s, d, d == VD_REORDERED ? s->reorder : from, at,
		       "its checkpoint at line %llu covers %llu lines and another hash; %llu are there",
		       (unsigned long long)at.line, (unsigned long long)c->n, (unsigned long long)n);
		return;
	}
	check_seal(v, s, c, at);
	if (s->damage)
		return;
	s->nchk++;
	s->good = at;
	s->after = here(-1, 0, -1);
	s->reorder = here(-1, 0, -1);
	s->since = 0;
	s->last_chk = *c;
	s->last_time = c->time;
}

/* A number member of an object of a header or end line ("hdr"
 * "timestamp", "end" "duration"). */
static double member(const char *line, size_t len, const char *obj, const char *key)
{
	struct shardread_line l = { 0 };
	struct json_object *o, *m;
	double x = -1;

	if (shardread_parse(line, len, &l) == 0 && json_object_object_get_ex(l.obj, obj, &o) &&
	    json_object_object_get_ex(o, key, &m))
		x = json_object_get_double(m);
	shardread_release(&l);
	return x;
}

static void new_sess(struct verify_sess *s)
{
	s->first = s->good = s->after = s->reorder = s->bad = s->found = here(-1, 0, -1);
	s->sealed_all = true;
	s->last_t = -1;
}

int verify_line(struct verify *v, int file, uint64_t lineno, const char *line, size_t len)
{
	char buf[SHARDREAD_LINE_MAX > 8192 ? 8192 : SHARDREAD_LINE_MAX];
	struct shardread_line l = { 0 };
	struct verify_sess *s;
	const char *in, *obj;
	size_t inlen, olen;
	struct chk c;
	int added;
	double t = -1;
	struct verify_at at;

	if (shardread_peek(line, len, &l) < 0) {
		if (shardread_parse(line, len, &l) < 0) {
			v->corrupt++; /* its session sees a line missing at its next checkpoint */
			return 0;
		}
	}
	if (!(s = sidtab_get(&v->tab, l.sid, l.sid_len, &added))) {
		shardread_release(&l);
		return -ENOMEM;
	}
	if (added) {
		new_sess(s);
		s->selected = !v->want || v->want(v->want_arg, s->sid);
	}
	if (l.kind == SHARDREAD_EVENT || l.kind == SHARDREAD_EXEC || l.kind == SHARDREAD_EXIT)
		t = l.t;
	shardread_release(&l);
	at = here(file, lineno, t);
	if (!s->selected || s->damage)
		return 0;
	if (s->ended) {
		damage(s, VD_INSERTED, at, at, "a line after the session's end line");
		return 0;
	}
	if (!s->started) {
		s->first = at;
		if (l.kind != SHARDREAD_HDR) {
			damage(s, VD_MISSING, at, at, "the session's first line here is not its header");
			return 0;
		}
		s->started = true;
		chk_h0(s->sid, s->h);
		s->start = (int64_t)member(line, len, "hdr", "timestamp");
		s->good = at;
	} else if (l.kind == SHARDREAD_HDR) {
		damage(s, VD_INSERTED, at, at, "a second header");
		return 0;
	}
	if (t >= 0) {
		if (t < s->last_t && s->reorder.file < 0)
			s->reorder = at;
		s->last_t = t;
		if (s->nchk && s->last_chk.sealed && v->have_key && s->last_time > s->start + (int64_t)t + EPOCH_SLACK)
			damage(s, VD_EPOCH, s->good, s->good, "the checkpoint's time %lld is after its next line's",
			       (long long)s->last_time);
	}
	if (chk_line_obj(line, len, &obj, &olen) == 0) {
		if (chk_parse_obj(obj, olen, &c) < 0) {
			damage(s, VD_EDITED, at, at, "a checkpoint that cannot be read");
			return 0;
		}
		check_chk(v, s, &c, s->n, s->h, at);
		chk_step(s->h, line, len);
		s->n++;
		return 0;
	}
	if (l.kind == SHARDREAD_END && chk_line_input(line, len, buf, sizeof(buf), &in, &inlen, &obj, &olen)) {
		chk_step(s->h, in, inlen);
		s->n++;
		s->ended = true;
		if (chk_parse_obj(obj, olen, &c) < 0) {
			damage(s, VD_EDITED, at, at, "an end line whose checkpoint cannot be read");
			return 0;
		}
		check_chk(v, s, &c, s->n, s->h, at);
		if (!s->damage && c.sealed && v->have_key) {
			double dur = member(line, len, "end", "duration");

			if (dur >= 0 && c.time > s->start + (int64_t)dur + EPOCH_SLACK)
				damage(s, VD_EPOCH, at, at, "the end's checkpoint time %lld is after the session's end",
				       (long long)c.time);
		}
		memcpy(s->final_h, s->h, CHK_HASH_LEN);
		return 0;
	}
	chk_step(s->h, line, len);
	s->n++;
	s->since++;
	if (s->after.file < 0)
		s->after = at;
	if (l.kind == SHARDREAD_END)
		s->ended = true; /* without a checkpoint: verify_finish says so */
	return 0;
}

struct finish_ctx {
	bool (*live)(void *arg, const char *sid);
	void *arg;
};

static void finish_one(void *arg, struct verify_sess *s)
{
	struct finish_ctx *f = arg;

	if (!s->selected || s->damage || !s->started)
		return;
	if (s->ended && s->nchk && !s->since)
		return;
	if (!s->ended && f->live && f->live(f->arg, s->sid))
		return; /* live: verified up to its last checkpoint */
	if (s->ended && !s->nchk)
		damage(s, VD_CUT, s->first, s->first,
		       "no checkpoint at all: recorded without hash chains, or they were removed");
	else if (s->ended)
		damage(s, VD_CUT, s->after, s->after, "an end line without its checkpoint");
	else
		damage(s, VD_CUT, s->after.file >= 0 ? s->after : s->good, s->after.file >= 0 ? s->after : s->good,
		       "no end line, and %llu lines after the last checkpoint are not covered",
		       (unsigned long long)s->since);
}

void verify_each(struct verify *v, void (*fn)(void *arg, struct verify_sess *s), void *arg)
{
	for (size_t i = 0; i < v->tab.cap; i++)
		if (v->tab.slot && v->tab.slot[i])
			fn(arg, v->tab.slot[i]);
}

void verify_finish(struct verify *v, bool (*live)(void *arg, const char *sid), void *arg)
{
	struct finish_ctx f = { live, arg };

	verify_each(v, finish_one, &f);
}

int verify_load_key(const char *path, struct chk_key *k0)
{
	char text[CHK_KEY_TEXT_MAX];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		ctl_err("%s: %s", path, strerror(errno));
		return CTL_EXIT_ERROR;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	if (chk_vkey_parse(text, n, k0) < 0) {
		ctl_err("%s: not a verification key (HEX/START/LEN, as sessrecctl keygen printed it)", path);
		return CTL_EXIT_ERROR;
	}
	return 0;
}
