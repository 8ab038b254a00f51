/* b64: standard base64 (RFC 4648 §4, padded), the one copy in the project.
 * The decoder is strict: only the canonical encoding is accepted, so one
 * "raw" value stands for exactly one byte string. Convention: length or -errno. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "b64.h"

static const char enc_tab[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint8_t dec(uint8_t c)
{
	/* 0xff: not in the alphabet ('=' included: padding is handled apart). */
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (uint8_t)(c - '0' + 52);
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return 0xff;
}

size_t b64_encode(char *out, const uint8_t *in, size_t n)
{
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = enc_tab[v >> 18];
		out[o++] = enc_tab[(v >> 12) & 63];
		out[o++] = enc_tab[(v >> 6) & 63];
		out[o++] = enc_tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = enc_tab[v >> 18];
		out[o++] = enc_tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? enc_tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

size_t b64_encode_two(char *out, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	uint8_t tmp[6];
	size_t m = (3 - na % 3) % 3, o;

	if (na == 0 || nb == 0)
		return na ? b64_encode(out, a, na) : b64_encode(out, b, nb);
	/* a and the first bytes of b make whole groups of 3, so b's rest
	 * encodes on its own */
	if (m > nb)
		m = nb;
	memcpy(tmp, a, na);
	memcpy(tmp + na, b, m);
	o = b64_encode(out, tmp, na + m);
	return o + b64_encode(out + o, b + m, nb - m);
}

ssize_t b64_decode(uint8_t *out, const char *in, size_t len)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t o = 0;

	if (len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		uint8_t a = dec(p[i]), b = dec(p[i + 1]), c = dec(p[i + 2]), d = dec(p[i + 3]);
		bool last = i + 4 == len;

		if (a > 63 || b > 63)
			return -EINVAL;
		if (c > 63 || d > 63) {
			/* Padding: only in the last quantum, "x=" or "==", and the
			 * bits it hides must be zero (canonical form). */
			if (!last || p[i + 3] != '=')
				return -EINVAL;
			if (p[i + 2] == '=') {
				if (b & 0x0f)
					return -EINVAL;
				out[o++] = (uint8_t)(a << 2 | b >> 4);
				break;
			}
			if (c > 63 || (c & 0x03))
				return -EINVAL;
			out[o++] = (uint8_t)(a << 2 | b >> 4);
			out[o++] = (uint8_t)(b << 4 | c >> 2);
			break;
		}
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		out[o++] = (uint8_t)(b << 4 | c >> 2);
		out[o++] = (uint8_t)(c << 6 | d);
	}
	return (ssize_t)o;
}
