/* shardlex: lexing the shard writer's JSON: the hot loops of reading event
 * lines (SSE2 where there is SSE2, SWAR words elsewhere), whose text has an
 * escape every few dozen bytes. Convention: NULL (or -EBADMSG) when the
 * input is not what the writer writes. */
#include <errno.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "shardlex.h"
#include "utf8.h"

/* Bytes that end a run of plain string content: '"', '\\', C0 controls and
 * every non-ASCII byte (checked as UTF-8). */
/* clang-format off */
static const uint8_t plain_stop[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};
/* clang-format on */

#ifndef __SSE2__
/* SWAR: whether any byte of w is '"', '\\', below 0x20 or above 0x7f.
 * (x - 0x01..) & ~x & 0x80.. is non-zero exactly when x has a zero byte. */
static inline bool word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b) | w) & high) != 0;
}
#else
/* One bit per byte of v that is '"', '\\', below 0x20 or above 0x7f. */
static inline unsigned vec_stops(__m128i v)
{
	const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
	/* signed: bytes >= 0x80 are negative, so below 0x20 too */
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)), _mm_cmplt_epi8(v, sp));

	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* Bytes from p that need no attention in a JSON string: the hot loop of
 * reading event lines, whose text has an escape every few dozen bytes. */
static const char *plain_run(const char *p, const char *end)
{
#ifdef __SSE2__
	while (end - p >= 16) {
		unsigned mask = vec_stops(_mm_loadu_si128((const __m128i *)(const void *)p));

		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#else
	uint64_t w;

	while (end - p >= 8) {
		memcpy(&w, p, 8);
		if (word_special(w))
			break;
		p += 8;
	}
#endif
	while (p < end && !plain_stop[(uint8_t)*p])
		p++;
	return p;
}

/* A JSON number in the plain form the writer prints (%.6f): 0|[1-9][0-9]*
 * then optional .[0-9]+, at most fifteen digits. Anything else (sign,
 * exponent, huge integers json-c reads as int64) is left to json-c. Fifteen
 * digits convert by one division of two exact doubles, so the result is
 * correctly rounded: the same double strtod (and so json-c) gives. */
const char *shardlex_number(const char *p, const char *end, double *out)
{
	static const double pow10[] = { 1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
					1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	uint64_t v = 0;
	unsigned digits = 0, frac = 0;

	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return NULL;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		for (; p < end && *p >= '0' && *p <= '9'; p++, digits++, frac++)
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p >= end || *p == 'e' || *p == 'E')
		return NULL;
	if (digits > 15)
		return NULL;
	*out = (double)v / pow10[frac];
	return p;
}

static void put_utf8(uint8_t **o, unsigned v)
{
	uint8_t *p = *o;

	if (v < 0x80) {
		*p++ = (uint8_t)v;
	} else if (v < 0x800) {
		*p++ = (uint8_t)(0xc0 | (v >> 6));
		*p++ = (uint8_t)(0x80 | (v & 0x3f));
	} else {
		*p++ = (uint8_t)(0xe0 | (v >> 12));
		*p++ = (uint8_t)(0x80 | ((v >> 6) & 0x3f));
		*p++ = (uint8_t)(0x80 | (v & 0x3f));
	}
	*o = p;
}

/* Four hex digits, or -1. */
static int hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char h = p[i];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= h - '0';
		else if (h >= 'a' && h <= 'f')
			v |= h - 'a' + 10;
		else if (h >= 'A' && h <= 'F')
			v |= h - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Scans the body of a JSON string from p (after the opening quote) to its
 * closing quote, which it returns, or NULL for anything json-c should judge:
 * raw control characters, unknown escapes, surrogate escapes. Records in
 * *utf8 whether the body is valid UTF-8. */
const char *shardlex_string(const char *p, const char *end, bool *utf8)
{
	*utf8 = true;
	for (;;) {
		p = plain_run(p, end);
		if (p >= end)
			return NULL;
		uint8_t c = (uint8_t)*p;

		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL;
		if (c >= 0x80) {
			int k = utf8_seq((const uint8_t *)p, (size_t)(end - p));

			if (k <= 0) {
				*utf8 = false;
				k = k == 0 ? 1 : -k;
			}
			p += k;
			continue;
		}
		/* backslash */
		if (end - p < 2)
			return NULL;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return NULL;
		}
		if (end - p < 6)
			return NULL;
		int v = hex4(p + 2);

		if (v < 0 || (v >= 0xd800 && v <= 0xdfff))
			return NULL;
		p += 6;
	}
}

/* shardlex_string that also decodes the body into *out (which advances):
 * one pass for readers of every event's bytes. *out needs 16 bytes of room
 * past the body's length (whole vectors are stored). */
const char *shardlex_decode(const char *p, const char *end, bool *utf8, uint8_t **out)
{
	uint8_t *o = *out;
	int k;

	*utf8 = true;
	for (;;) {
#ifdef __SSE2__
		while (end - p >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
			unsigned mask = vec_stops(v);

			_mm_storeu_si128((__m128i *)(void *)o, v);
			if (mask) {
				k = __builtin_ctz(mask);
				p += k;
				o += k;
				break;
			}
			p += 16;
			o += 16;
		}
#endif
		while (p < end && !plain_stop[(uint8_t)*p])
			*o++ = (uint8_t)*p++;
		if (p >= end)
			return NULL;
		uint8_t c = (uint8_t)*p;

		if (c == '"') {
			*out = o;
			return p;
		}
		if (c < 0x20)
			return NULL;
		if (c >= 0x80) {
			k = utf8_seq((const uint8_t *)p, (size_t)(end - p));
			if (k <= 0) {
				*utf8 = false;
				k = k == 0 ? 1 : -k;
			}
			memcpy(o, p, (size_t)k);
			o += k;
			p += k;
			continue;
		}
		if (end - p < 2)
			return NULL;
		/* clang-format off */
		switch (p[1]) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case '"': case '\\': case '/': *o++ = (uint8_t)p[1]; break;
		case 'u':
			k = end - p < 6 ? -1 : hex4(p + 2);
			if (k < 0 || (k >= 0xd800 && k <= 0xdfff))
				return NULL;
			put_utf8(&o, (unsigned)k);
			p += 4;
			break;
		default:
			return NULL;
		}
		/* clang-format on */
		p += 2;
	}
}

/* Decodes a body shardread_event accepted: never longer than its input. */
ssize_t shardlex_unescape(const char *s, size_t n, uint8_t *out)
{
	const char *end = s + n;
	uint8_t *o = out;

	while (s < end) {
		const char *bs = memchr(s, '\\', (size_t)(end - s));
		size_t run = (size_t)((bs ? bs : end) - s);

		memcpy(o, s, run);
		o += run;
		s += run;
		if (!bs)
			break;
		if (end - s < 2)
			return -EBADMSG;
		/* clang-format off */
		switch (s[1]) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case '"': case '\\': case '/': *o++ = (uint8_t)s[1]; break;
		case 'u': {
			int v = end - s < 6 ? -1 : hex4(s + 2);

			if (v < 0 || (v >= 0xd800 && v <= 0xdfff))
				return -EBADMSG;
			put_utf8(&o, (unsigned)v);
			s += 4;
			break;
		}
		/* clang-format on */
		default:
			return -EBADMSG;
		}
		s += 2;
	}
	return o - out;
}
