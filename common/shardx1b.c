/* shardx1b: the "x1b" member of event lines, writing and reading (format:
 * sessrec-shards(5), "Data: d and raw"). The writer rewrites a finished
 * line rather than escaping differently as it goes: the fast encoder's
 * line fitting stays as it is (the rewritten line is always shorter), and
 * a line costs one vector pass over d and, when it pays, one copy.
 * Convention: lengths. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "shardx1b.h"

#define ESC_JSON "\\u001b"
#define ESC_JSON_LEN 6
#define D_KEY "\"d\":\""
#define D_KEY_LEN 5

/* Whether the backslash at b[j] starts an escape: the backslashes right
 * before it pair up ("\\", the only escape with a second backslash), so
 * "\\u001b" (an escaped backslash, then text) is no ESC. */
static inline bool escape_at(const char *b, size_t j)
{
	size_t r = 0;

	while (r < j && b[j - 1 - r] == '\\')
		r++;
	return r % 2 == 0;
}

#if defined(__SSE2__) && !defined(SHARDLINE_NO_SIMD)
#include <emmintrin.h>

static inline __m128i load16(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static inline __m128i at(const char *p, int c)
{
	return _mm_cmpeq_epi8(load16(p), _mm_set1_epi8((char)c));
}

#define AND(a, b) _mm_and_si128(a, b)
#endif

/* Whether an ESC escape starts at b[j] (j + 6 <= n). */
static inline bool esc_json_at(const char *b, size_t j)
{
	return memcmp(b + j, ESC_JSON, ESC_JSON_LEN) == 0 && escape_at(b, j);
}

/* Copies the JSON body b[0..n) to o with each ESC escape as the stand-in,
 * in one pass that stops only where "\u..1b" or 0xe2 (the stand-in's
 * first byte) is: 16 bytes at a time where there is SSE2, each block
 * copied whole and again after each of its escapes (as shardline.c's
 * enc_block does), so terminal output's other escapes (\r\n) cost
 * nothing. o needs n + 16 bytes of room. Returns the length written
 * (*k: the ESCs), or -1 when b holds a real U+241B. */
static long rewrite(char *o, const char *b, size_t n, size_t *k)
{
	char *const o0 = o;
	size_t i = 0, from = 0; /* from: the next input byte to copy */

	*k = 0;
#if defined(__SSE2__) && !defined(SHARDLINE_NO_SIMD)
	/* A block's loads reach 16 + 21 bytes past i (an escape ending
	 * 6 bytes into the next block, then a block's copy). */
	for (; i + 48 <= n; i += 16) {
		const char *p = b + i;
		/* no branch on what a block holds: half of terminal output's
		 * blocks have a backslash, and a mispredicted branch costs
		 * more than the compares */
		unsigned esc = (unsigned)_mm_movemask_epi8(
			AND(AND(at(p, '\\'), at(p + 1, 'u')), AND(at(p + 4, '1'), at(p + 5, 'b'))));

		if (_mm_movemask_epi8(AND(AND(at(p, 0xe2), at(p + 1, 0x90)), at(p + 2, 0x9b))))
			return -1;
		if (from >= i + 16)
			continue; /* inside an escape from the block before */
		_mm_storeu_si128((__m128i *)(void *)o, load16(b + from));
		for (; esc; esc &= esc - 1) {
			size_t j = i + (size_t)__builtin_ctz(esc);

			if (j < from || b[j + 2] != '0' || b[j + 3] != '0' || !escape_at(b, j))
				continue;
			o += j - from;
			memcpy(o, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN);
			o += SHARDX1B_CHAR_LEN;
			from = j + ESC_JSON_LEN;
			(*k)++;
			_mm_storeu_si128((__m128i *)(void *)o, load16(b + from));
		}
		if (from < i + 16) {
			o += i + 16 - from;
			from = i + 16;
		}
	}
#endif
	for (i = from; i < n;) {
		if (n - i >= SHARDX1B_CHAR_LEN && memcmp(b + i, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN) == 0)
			return -1;
		if (b[i] == '\\' && n - i >= ESC_JSON_LEN && esc_json_at(b, i)) {
			memcpy(o, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN);
			o += SHARDX1B_CHAR_LEN;
			i += ESC_JSON_LEN;
			(*k)++;
		} else {
			*o++ = b[i++];
		}
	}
	return o - o0;
}

size_t shardx1b_line(char *out, size_t cap, const char *line, size_t len, size_t d_at, size_t d_len)
{
	const char *b = line + d_at;
	size_t o, k, tail;
	long w;

	/* Too short for the ESCs that would pay (an echoed key, say): at once. */
	if (d_len < (SHARDX1B_MEMBER_LEN / (ESC_JSON_LEN - SHARDX1B_CHAR_LEN) + 1) * ESC_JSON_LEN)
		return 0;
	if (d_at < D_KEY_LEN || d_at + d_len > len || cap < SHARDX1B_ROOM(len) ||
	    memcmp(b - D_KEY_LEN, D_KEY, D_KEY_LEN) != 0)
		return 0;
	tail = len - d_at - d_len;
	o = d_at - D_KEY_LEN;
	memcpy(out, line, o);
	memcpy(out + o, SHARDX1B_MEMBER D_KEY, SHARDX1B_MEMBER_LEN + D_KEY_LEN);
	o += SHARDX1B_MEMBER_LEN + D_KEY_LEN;
	/* Written on the chance that it pays, which terminal output's long
	 * lines nearly always do. Each ESC saves 6 - 3 bytes, and the member
	 * must be paid for, strictly. A real U+241B would read back as ESC:
	 * such a line stays plain (the writer escapes controls only, so its
	 * bytes are there as they are). */
	w = rewrite(out + o, b, d_len, &k);
	if (w < 0 || k * (ESC_JSON_LEN - SHARDX1B_CHAR_LEN) <= SHARDX1B_MEMBER_LEN)
		return 0;
	o += (size_t)w;
	memcpy(out + o, b + d_len, tail);
	return o + tail;
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
