/* shardline_model: what the event encoder must produce for valid text, built
 * the slow way, a character at a time (shard_json_escape for each, ESC as
 * the stand-in while the line may have it, sessrec-shards(5)); shared by the
 * unit tests and the fuzz target so both check against one model. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardline.h"
#include "shardx1b.h"

/* The sink the tests encode into: every line in order, NUL-terminated,
 * counted; abort() when out of memory. */
struct shardline_model_lines {
	char *buf;
	size_t len, cap, count;
};

static inline int shardline_model_collect(void *userdata, const char *line, size_t len)
{
	struct shardline_model_lines *l = userdata;

	if (l->len + len + 1 > l->cap) {
		l->cap = (l->len + len + 1) * 2;
		l->buf = realloc(l->buf, l->cap);
		if (!l->buf)
			abort();
	}
	memcpy(l->buf + l->len, line, len);
	l->len += len;
	l->buf[l->len] = '\0';
	l->count++;
	return 0;
}

/* Whether the lines collected are exactly want[0..w) (none when w is 0:
 * then buf is still NULL). */
static inline bool shardline_model_got(const struct shardline_model_lines *l, const char *want, size_t w)
{
	return l->len == w && (w == 0 || memcmp(l->buf, want, w) == 0);
}

/* d's body for p[0..n) (any bytes, no incomplete tail but at the end),
 * ESC as the stand-in if x: shard_json_escape of the runs between ESCs (an
 * invalid subpart never holds an ASCII byte, so this is the same cut).
 * out needs 6n bytes. Returns its length. */
static inline size_t shardline_model_d(char *out, const uint8_t *p, size_t n, bool x)
{
	size_t o = 0, at = 0;

	while (at < n) {
		const uint8_t *q = x ? memchr(p + at, 0x1b, n - at) : NULL;
		size_t run = q ? (size_t)(q - p) - at : n - at;

		o += shard_json_escape(out + o, 6 * run, p + at, run, NULL);
		at += run;
		if (q) {
			memcpy(out + o, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN);
			o += SHARDX1B_CHAR_LEN;
			at++;
		}
	}
	return o;
}

/* The line of prefix pre[0..np) ({"sid":..,"d":") and the bodies dx (ESC as
 * the stand-in) and dp (plain) of a chunk with k ESCs: with the member
 * before "d" exactly when it pays and x (the chunk has no real U+241B).
 * Returns its length (without the closing "}\n, which the caller adds). */
static inline size_t shardline_model_line(char *out, const char *pre, size_t np, bool x, size_t k, const char *dx,
					  size_t ndx, const char *dp, size_t ndp)
{
	size_t w = 0;

	if (x && shardx1b_pays(k)) {
		memcpy(out, pre, np - 5);
		w = np - 5;
		memcpy(out + w, SHARDX1B_MEMBER "\"d\":\"", SHARDX1B_MEMBER_LEN + 5);
		w += SHARDX1B_MEMBER_LEN + 5;
		memcpy(out + w, dx, ndx);
		return w + ndx;
	}
	memcpy(out, pre, np);
	memcpy(out + np, dp, ndp);
	return np + ndp;
}

/* The lines of p[0..n) (valid UTF-8) read at once at time t on channel ch
 * of session sid, each as full as the greedy rule makes it: a line holds
 * characters while its d fits, plain, in the room, and 12 bytes (the
 * member) less while ESC may be the stand-in; at a real U+241B the line
 * turns plain if it fits that way with it, else ends before it. Returns a
 * malloc'ed buffer (NULL when out of memory) and its length in *len. */
static inline char *shardline_model(const char *sid, double t, char ch, const uint8_t *p, size_t n, size_t *len)
{
	char pre[128], *want = malloc(8 * n + SHARD_LINE_MAX);
	/* dp: twice dx at most (while x: 6 bytes an ESC for 3) */
	char *dx = malloc(SHARD_LINE_MAX), *dp = malloc(2 * SHARD_LINE_MAX);
	size_t np, room, w = 0, at = 0;

	if (!want || !dx || !dp) {
		free(want), free(dx), free(dp);
		return NULL;
	}
	np = (size_t)snprintf(pre, 64, "{\"sid\":\"%s\",\"t\":", sid);
	np += shard_format_t(pre + np, t);
	np += (size_t)snprintf(pre + np, 32, ",\"ch\":\"%c\",\"d\":\"", ch);
	room = SHARD_LINE_MAX - 1 - np - 3; /* "}\n */
	while (at < n) {
		size_t ndx = 0, ndp = 0, k = 0, from = at;
		bool x = true;

		while (at < n) {
			size_t cl = p[at] < 0x80 ? 1 : p[at] < 0xe0 ? 2 : p[at] < 0xf0 ? 3 : 4;
			char ex[8], ep[8];
			size_t lx = shardline_model_d(ex, p + at, cl, true);
			size_t lp = shardline_model_d(ep, p + at, cl, false);

			if (x && cl == 3 && memcmp(p + at, SHARDX1B_CHAR, 3) == 0) {
				if (ndp + lp > room)
					break;
				x = false;
			}
			if (x ? ndx + lx + SHARDX1B_MEMBER_LEN > room : ndp + lp > room)
				break;
			memcpy(dx + ndx, ex, lx);
			memcpy(dp + ndp, ep, lp);
			ndx += lx;
			ndp += lp;
			k += p[at] == 0x1b;
			at += cl;
		}
		if (at == from) {
			free(want), free(dx), free(dp);
			return NULL;
		}
		w += shardline_model_line(want + w, pre, np, x, k, dx, ndx, dp, ndp);
		memcpy(want + w, "\"}\n", 3);
		w += 3;
	}
	free(dx);
	free(dp);
	*len = w;
	return want;
}
