/* shardline_model: what the event encoder must produce for valid text, built
 * the slow way (shard_json_escape filling each line's room in turn, then
 * the ESC stand-in of shardx1b.c, which test_shardx1b checks on its own);
 * shared by the unit tests and the fuzz target so both check against one
 * model. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardline.h"
#include "shardx1b.h"

/* The lines of p[0..n) (valid UTF-8) read at once at time t on channel ch
 * of session sid, each as full as the greedy rule makes it. Returns a
 * malloc'ed buffer (NULL when out of memory) and its length in *len. */
static inline char *shardline_model(const char *sid, double t, char ch, const uint8_t *p, size_t n, size_t *len)
{
	char pre[128], *want = malloc(8 * n + SHARD_LINE_MAX);
	size_t np, room, w = 0, at = 0;

	if (!want)
		return NULL;
	np = (size_t)snprintf(pre, 64, "{\"sid\":\"%s\",\"t\":", sid);
	np += shard_format_t(pre + np, t);
	np += (size_t)snprintf(pre + np, 32, ",\"ch\":\"%c\",\"d\":\"", ch);
	room = SHARD_LINE_MAX - 1 - np - 3; /* "}\n */
	while (at < n) {
		size_t used, w0 = w, xl;
		char x[SHARDX1B_ROOM(SHARD_LINE_MAX)];

		memcpy(want + w, pre, np);
		w += np;
		w += shard_json_escape(want + w, room, p + at, n - at, &used);
		if (used == 0) {
			free(want);
			return NULL;
		}
		memcpy(want + w, "\"}\n", 3);
		w += 3;
		if ((xl = shardx1b_line(x, sizeof(x), want + w0, w - w0, np, w - w0 - np - 3)) > 0) {
			memcpy(want + w0, x, xl);
			w = w0 + xl;
		}
		at += used;
	}
	*len = w;
	return want;
}
