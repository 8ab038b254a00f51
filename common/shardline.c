/* shardline: the event line encoder of day shards (DESIGN.md "Day shards"),
 * the project's one JSON string escaper and the "t" formatter; the other
 * lines are in shardfmt.c. The encoder runs on every recorded byte: byte-class
 * table, memcpy of plain runs, no allocation, no json-c.
 * Convention: a length or 0 on success, -errno on failure; never logs. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "shardline.h"
#include "utf8.h"

#define LINE_LAST (SHARD_LINE_MAX - 1) /* longest line, its newline included */
#define RAW_KEY ",\"raw\":\""
#define RAW_KEY_LEN (sizeof(RAW_KEY) - 1)

enum { C_PLAIN = 0, C_HIGH = 1 };

/* What each byte becomes in a JSON string: copied (C_PLAIN), the letter of
 * its backslash escape ('u' for \u00xx), or C_HIGH (a UTF-8 lead or stray). */
static const uint8_t esc_tab[256] = {
	[0x00 ... 0x07] = 'u', [0x08] = 'b', [0x09] = 't', [0x0a] = 'n', [0x0b] = 'u',
	[0x0c] = 'f', [0x0d] = 'r', [0x0e ... 0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
	[0x7f] = 'u', [0x80 ... 0xff] = C_HIGH,
};

static const char hex[16] = "0123456789abcdef";

/* One unit of escaping: k input bytes that become dlen bytes of JSON text. */
struct item {
	unsigned k, dlen;
	bool bad; /* an invalid subpart, written as U+FFFD */
};

/* The item at p[0..n), n > 0. Returns false when p[0..n) is the valid start
 * of a character that more bytes could complete. */
static inline bool item_at(const uint8_t *p, size_t n, struct item *it)
{
	uint8_t e = esc_tab[p[0]];
	int r;

	if (e != C_HIGH) {
		it->k = 1;
		it->dlen = e == C_PLAIN ? 1 : e == 'u' ? 6 : 2;
		it->bad = false;
		return true;
	}
	r = utf8_seq(p, n);
	if (r == 0)
		return false;
	it->bad = r < 0;
	it->k = (unsigned)(r < 0 ? -r : r);
	it->dlen = it->bad ? UTF8_REPLACEMENT_LEN : it->k;
	return true;
}

static inline void item_put(char *o, const uint8_t *p, const struct item *it)
{
	uint8_t e = esc_tab[p[0]];

	if (it->bad) {
		memcpy(o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
	} else if (e == C_PLAIN || e == C_HIGH) {
		memcpy(o, p, it->k);
	} else if (e == 'u') {
		memcpy(o, "\\u00", 4);
		o[4] = hex[p[0] >> 4];
		o[5] = hex[p[0] & 15];
	} else {
		o[0] = '\\';
		o[1] = (char)e;
	}
}

size_t shard_json_escape(char *out, size_t cap, const uint8_t *p, size_t n, size_t *used)
{
	size_t i = 0, o = 0;
	struct item it;

	while (i < n) {
		if (!item_at(p + i, n - i, &it)) {
			/* An incomplete tail is invalid here: nothing will follow. */
			it.k = (unsigned)(n - i);
			it.dlen = UTF8_REPLACEMENT_LEN;
			it.bad = true;
		}
		if (it.dlen > cap - o)
			break;
		item_put(out + o, p + i, &it);
		o += it.dlen;
		i += it.k;
	}
	if (used)
		*used = i;
	return o;
}

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

/* {"sid":"S","t":T,"ch":"C","d":"  -- the part of an event line before d. */
static int event_prefix(char *o, const char *sid, double t, char ch)
{
	size_t n = 0, sl = strnlen(sid, SHARD_SID_LEN);

	if ((uint8_t)ch < 0x20 || (uint8_t)ch > 0x7e || ch == '"' || ch == '\\')
		return -EINVAL;
	memcpy(o, "{\"sid\":\"", 8);
	n = 8;
	n += shard_json_escape(o + n, 6 * SHARD_SID_LEN, (const uint8_t *)sid, sl, NULL);
	memcpy(o + n, "\",\"t\":", 6);
	n += 6;
	n += shard_format_t(o + n, t);
	memcpy(o + n, ",\"ch\":\"", 7);
	n += 7;
	o[n++] = ch;
	memcpy(o + n, "\",\"d\":\"", 7);
	n += 7;
	return (int)n;
}

/* One line being filled: d's body grows in place after the prefix; the
 * input bytes behind it are pre[0..npre) (carried from the previous call)
 * then seg[0..nseg). */
struct enc {
	char *line;
	size_t hdr;       /* prefix length */
	size_t room;      /* most bytes of d's body in a line without raw */
	size_t room_raw;  /* most bytes of d's body plus raw's base64 */
	size_t d;         /* d's body so far */
	const uint8_t *pre, *seg;
	size_t npre, nseg;
	bool bad;         /* the chunk needs raw */
	shard_line_fn fn;
	void *userdata;
};

static bool enc_fits(const struct enc *e, const struct item *it)
{
	if (!e->bad && !it->bad)
		return e->d + it->dlen <= e->room;
	return e->d + it->dlen + B64_ENCODED_LEN(e->npre + e->nseg + it->k) <= e->room_raw;
}

/* base64 of a ++ b, a no longer than 3 bytes. */
static size_t b64_two(char *out, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	uint8_t tmp[6];
	size_t m = (3 - na % 3) % 3, o;

	if (na == 0 || nb == 0)
		return na ? b64_encode(out, a, na) : b64_encode(out, b, nb);
	if (m > nb)
		m = nb;
	memcpy(tmp, a, na);
	memcpy(tmp + na, b, m);
	o = b64_encode(out, tmp, na + m);
	return o + b64_encode(out + o, b + m, nb - m);
}

/* Closes the line, hands it over, starts the next chunk after this one. */
static int enc_emit(struct enc *e)
{
	char *o = e->line + e->hdr + e->d;
	int r;

	if (e->npre + e->nseg == 0)
		return 0;
	*o++ = '"';
	if (e->bad) {
		memcpy(o, RAW_KEY, RAW_KEY_LEN);
		o += RAW_KEY_LEN;
		o += b64_two(o, e->pre, e->npre, e->seg, e->nseg);
		*o++ = '"';
	}
	*o++ = '}';
	*o++ = '\n';
	r = e->fn(e->userdata, e->line, (size_t)(o - e->line));
	e->seg += e->nseg;
	e->nseg = e->npre = e->d = 0;
	e->bad = false;
	return r < 0 ? r : 0;
}

/* Adds the item at p (whose bytes are the next npre carried and then the
 * next k - npre input bytes) to the line, first emitting the line if full. */
static int enc_add(struct enc *e, const uint8_t *p, const struct item *it, size_t npre)
{
	int r;

	if (!enc_fits(e, it) && (r = enc_emit(e)) < 0)
		return r;
	item_put(e->line + e->hdr + e->d, p, it);
	e->d += it->dlen;
	e->npre += npre;
	e->nseg += it->k - npre;
	e->bad |= it->bad;
	return 0;
}

/* The common non-plain items (an escape, a valid character) while the line
 * is valid text and has room for them; returns the bytes taken, or 0 to
 * leave the item to enc_add. */
static inline size_t enc_fast(struct enc *e, const uint8_t *p, size_t n)
{
	struct item it;

	if (e->bad || e->room - e->d < 6 || !item_at(p, n, &it) || it.bad)
		return 0;
	item_put(e->line + e->hdr + e->d, p, &it);
	e->d += it.dlen;
	e->nseg += it.k;
	return it.k;
}

/* The carried bytes and what of data completes (or breaks) them, as items;
 * returns how many bytes of data they took, or -EAGAIN when all of data only
 * extends the carry. */
static int enc_carry(struct enc *e, struct shard_utf8 *carry, uint8_t *pre, size_t npre,
		     const uint8_t *data, size_t n, size_t *taken)
{
	size_t take = n < 4 ? n : 4, m = npre + take, j = 0;
	struct item it;
	int r;

	memcpy(pre + npre, data, take);
	e->pre = pre;
	while (j < npre) {
		if (!item_at(pre + j, m - j, &it)) {
			/* Only possible with all of data in pre (take == n):
			 * the character is still incomplete. */
			memcpy(carry->buf, pre + j, m - j);
			carry->len = (uint8_t)(m - j);
			r = enc_emit(e);
			return r < 0 ? r : -EAGAIN;
		}
		size_t from_pre = it.k < npre - j ? it.k : npre - j;

		if ((r = enc_add(e, pre + j, &it, from_pre)) < 0)
			return r;
		j += it.k;
	}
	*taken = j - npre;
	return 0;
}

int shard_encode_event(struct shard_utf8 *carry, const char *sid, double t, char ch,
		       const uint8_t *data, size_t n, shard_line_fn fn, void *userdata)
{
	char line[SHARD_LINE_MAX];
	uint8_t pre[8];
	size_t npre = carry->len < 4 ? carry->len : 4, i = 0;
	struct enc e = { .line = line, .seg = data, .fn = fn, .userdata = userdata };
	struct item it;
	int r;

	if (n == 0)
		return 0;
	if ((r = event_prefix(line, sid, t, ch)) < 0)
		return r;
	e.hdr = (size_t)r;
	e.room = LINE_LAST - e.hdr - 3;                 /* "}\n */
	e.room_raw = LINE_LAST - e.hdr - 4 - RAW_KEY_LEN; /* ",raw":"..."}\n */
	memcpy(pre, carry->buf, npre);
	carry->len = 0;
	if (npre) {
		r = enc_carry(&e, carry, pre, npre, data, n, &i);
		if (r < 0)
			return r == -EAGAIN ? 0 : r;
	}
	while (i < n) {
		size_t k;

		if (esc_tab[data[i]] == C_PLAIN && !e.bad) {
			size_t room = e.room - e.d, lim, j;

			if (room == 0) {
				if ((r = enc_emit(&e)) < 0)
					return r;
				continue;
			}
			lim = i + (n - i < room ? n - i : room);
			for (j = i + 1; j < lim && esc_tab[data[j]] == C_PLAIN; j++)
				;
			memcpy(line + e.hdr + e.d, data + i, j - i);
			e.d += j - i;
			e.nseg += j - i;
			i = j;
			continue;
		}
		if ((k = enc_fast(&e, data + i, n - i)) > 0) {
			i += k;
			continue;
		}
		if (!item_at(data + i, n - i, &it)) {
			memcpy(carry->buf, data + i, n - i);
			carry->len = (uint8_t)(n - i);
			break;
		}
		if ((r = enc_add(&e, data + i, &it, 0)) < 0)
			return r;
		i += it.k;
	}
	return enc_emit(&e);
}

int shard_encode_flush(struct shard_utf8 *carry, const char *sid, double t, char ch,
		       shard_line_fn fn, void *userdata)
{
	char line[SHARD_LINE_MAX];
	size_t n = carry->len < 4 ? carry->len : 4;
	struct enc e = { .line = line, .pre = carry->buf, .seg = carry->buf,
			 .fn = fn, .userdata = userdata };
	int r;

	if (n == 0)
		return 0;
	if ((r = event_prefix(line, sid, t, ch)) < 0)
		return r;
	e.hdr = (size_t)r;
	/* The carry is a valid start, so one subpart: one U+FFFD. */
	memcpy(line + e.hdr, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
	e.d = UTF8_REPLACEMENT_LEN;
	e.npre = n;
	e.bad = true;
	carry->len = 0;
	return enc_emit(&e);
}
