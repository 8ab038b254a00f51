/* shardx1b: the "x1b" member of event lines (format: sessrec-shards(5),
 * "Data: d and raw"): the encoder's way back to a plain d, and the reader's
 * expansion. The encoder (shardline.c) writes the stand-in as it escapes,
 * so a line that pays costs nothing more; these undo it where it does not.
 * Convention: lengths. */
#include <stdint.h>
#include <string.h>

#include "shardx1b.h"

size_t shardx1b_unstand(char *d, size_t n, size_t k)
{
	/* From the end, so each byte moves once: d[0..r) is still to move,
	 * to end at d + w; stand-ins are searched for below s. */
	size_t r = n, s = n, w = n + k * SHARDX1B_SAVES, out = w;
	const char *q;

	while (k > 0 && (q = memrchr(d, 0xe2, s)) != NULL) {
		size_t at = (size_t)(q - d), tail;

		s = at;
		if (n - at < SHARDX1B_CHAR_LEN || memcmp(q, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN) != 0)
			continue;
		tail = r - at - SHARDX1B_CHAR_LEN;
		w -= tail;
		memmove(d + w, q + SHARDX1B_CHAR_LEN, tail);
		w -= SHARDX1B_ESC_JSON_LEN;
		memcpy(d + w, SHARDX1B_ESC_JSON, SHARDX1B_ESC_JSON_LEN);
		r = at;
		k--;
	}
	return out;
}

size_t shardx1b_expand(uint8_t *p, size_t n)
{
	uint8_t *end = p + n, *r = p, *w = p, *q;

	while ((q = memchr(r, 0xe2, (size_t)(end - r)))) {
		size_t run = (size_t)(q - r);

		if (end - q < SHARDX1B_CHAR_LEN || memcmp(q, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN) != 0) {
			run++;
			if (w != r)
				memmove(w, r, run);
			w += run;
			r += run;
			continue;
		}
		if (w != r)
			memmove(w, r, run);
		w += run;
		*w++ = 0x1b;
		r = q + SHARDX1B_CHAR_LEN;
	}
	if (w != r)
		memmove(w, r, (size_t)(end - r));
	return (size_t)(w - p) + (size_t)(end - r);
}
