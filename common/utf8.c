/* utf8: UTF-8 validation and replacement (RFC 3629 well-formed sequences,
 * Unicode 15 §3.9 "maximal subpart" substitution). Pure functions.
 * Convention: as declared in utf8.h (lengths, never errors). */
#include <string.h>

#include "utf8.h"

int utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return -1;
	if (c < 0xe0)
		need = 2;
	else if (c < 0xf0)
		need = 3;
	else
		need = 4;
	/* The second byte's range is what excludes overlongs, surrogates and
	 * code points above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < need; i++) {
		if (i >= n)
			return 0;
		if (p[i] < lo || p[i] > hi)
			return -(int)i;
		lo = 0x80;
		hi = 0xbf;
	}
	return (int)need;
}

size_t utf8_valid_len(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		int k;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(p + i, n - i);
		if (k <= 0)
			break;
		i += (size_t)k;
	}
	return i;
}

size_t utf8_sanitize(uint8_t *out, const uint8_t *p, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		int k = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);

		if (k > 0) {
			memcpy(out + o, p + i, (size_t)k);
			o += (size_t)k;
			i += (size_t)k;
			continue;
		}
		memcpy(out + o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
		o += UTF8_REPLACEMENT_LEN;
		i += k == 0 ? n - i : (size_t)-k;
	}
	return o;
}

size_t utf8_clip(const uint8_t *p, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && (p[max] & 0xc0) == 0x80)
		max--;
	return max;
}
