/* shardt: the "t" of every t-line (sessrec-shards(5), "Time"), formatted
 * as printf("%.6f") does but without it: sessrecd formats one per recorded
 * line. Declared in shardline.h. Convention: lengths, never errors. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shardline.h"

/* 1e6 * f rounded to an integer as printf rounds it (to nearest, ties to
 * even), f in [0, 1). Exact: f is m * 2^-sh with a 53-bit m, and m * 1e6
 * fits in 128 bits. */
static uint64_t frac_micros(double f)
{
	uint64_t bits, m, q;
	unsigned exp, sh;
	unsigned __int128 prod, rem, half;

	memcpy(&bits, &f, sizeof(bits));
	exp = (unsigned)(bits >> 52) & 0x7ff;
	if (exp <= 1001) /* f < 2^-21: f * 1e6 < 0.48 */
		return 0;
	m = (bits & ((UINT64_C(1) << 52) - 1)) | UINT64_C(1) << 52;
	sh = 1075 - exp; /* 53..73 */
	prod = (unsigned __int128)m * 1000000u;
	q = (uint64_t)(prod >> sh);
	rem = prod & (((unsigned __int128)1 << sh) - 1);
	half = (unsigned __int128)1 << (sh - 1);
	if (rem > half || (rem == half && (q & 1)))
		q++;
	return q;
}

size_t shard_format_t(char *out, double t)
{
	char digits[20];
	uint64_t ip, us;
	size_t n = 0, o = 0;

	if (!(t > 0))
		t = 0;
	if (t >= 1e9) {
		/* Past 31 years of session: rare enough for printf. */
		char tmp[64];
		int r = snprintf(tmp, sizeof(tmp), "%.6f", t < 1e12 ? t : 1e12);

		if (r <= 0 || r > SHARD_T_MAX)
			r = snprintf(tmp, sizeof(tmp), "0.000000");
		memcpy(out, tmp, (size_t)r);
		return (size_t)r;
	}
	ip = (uint64_t)t;
	us = frac_micros(t - (double)ip); /* the subtraction is exact */
	if (us >= 1000000) {
		ip++;
		us -= 1000000;
	}
	do {
		digits[n++] = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip);
	while (n)
		out[o++] = digits[--n];
	out[o++] = '.';
	for (int i = 5; i >= 0; i--) {
		out[o + (size_t)i] = (char)('0' + us % 10);
		us /= 10;
	}
	return o + 6;
}
