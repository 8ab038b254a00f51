/* shardx1b: the "x1b" member of event lines, writing and reading (format:
 * sessrec-shards(5), "Data: d and raw"). The writer rewrites a finished
 * line rather than escaping differently as it goes: the fast encoder's
 * line fitting stays as it is (the rewritten line is always shorter), and
 * lines without ESC cost one memchr pass. Convention: lengths. */
#include <string.h>

#include "shardx1b.h"

#define ESC_JSON "\\u001b"
#define ESC_JSON_LEN 6
#define D_KEY "\"d\":\""
#define D_KEY_LEN 5

/* The number of ESC escapes in the JSON body b[0..n): each backslash
 * starts an escape, \uXXXX or a short one, so "\\u001b" (an escaped
 * backslash, then text) is not one. */
static size_t count_esc(const char *b, size_t n)
{
	const char *p = b, *end = b + n;
	size_t k = 0;

	while ((p = memchr(p, '\\', (size_t)(end - p))) && end - p >= 2) {
		if (p[1] != 'u') {
			p += 2;
			continue;
		}
		if (end - p >= ESC_JSON_LEN && memcmp(p, ESC_JSON, ESC_JSON_LEN) == 0)
			k++;
		p += ESC_JSON_LEN;
		if (p > end)
			break;
	}
	return k;
}

size_t shardx1b_line(char *out, size_t cap, const char *line, size_t len, size_t d_at, size_t d_len)
{
	const char *b = line + d_at, *end = b + d_len, *p = b, *q;
	size_t k, want, o;

	if (d_at < D_KEY_LEN || d_at + d_len > len || memcmp(b - D_KEY_LEN, D_KEY, D_KEY_LEN) != 0)
		return 0;
	/* Each ESC saves 6 - 3 bytes; the member must be paid for, strictly. */
	k = count_esc(b, d_len);
	if (k * (ESC_JSON_LEN - SHARDX1B_CHAR_LEN) <= SHARDX1B_MEMBER_LEN)
		return 0;
	/* A real U+241B would read back as ESC: such a line stays plain. The
	 * writer never escapes it (it escapes controls only), so its bytes
	 * are enough to look for. */
	if (memmem(b, d_len, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN))
		return 0;
	want = len + SHARDX1B_MEMBER_LEN - k * (ESC_JSON_LEN - SHARDX1B_CHAR_LEN);
	if (want > cap)
		return 0;
	o = d_at - D_KEY_LEN;
	memcpy(out, line, o);
	memcpy(out + o, SHARDX1B_MEMBER D_KEY, SHARDX1B_MEMBER_LEN + D_KEY_LEN);
	o += SHARDX1B_MEMBER_LEN + D_KEY_LEN;
	while ((q = memchr(p, '\\', (size_t)(end - p)))) {
		size_t el = q + 1 < end && q[1] == 'u' ? ESC_JSON_LEN : 2;

		if ((size_t)(end - q) < el) /* not the writer's body: cannot be */
			break;
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		if (el == ESC_JSON_LEN && memcmp(q, ESC_JSON, ESC_JSON_LEN) == 0) {
			memcpy(out + o, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN);
			o += SHARDX1B_CHAR_LEN;
		} else {
			memcpy(out + o, q, el);
			o += el;
		}
		p = q + el;
	}
	memcpy(out + o, p, (size_t)(end - p));
	o += (size_t)(end - p);
	memcpy(out + o, end, len - d_at - d_len);
	return o + (len - d_at - d_len);
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
