/* shardline: the event line encoder of day shards (sessrec-shards(5)) and
 * the project's one JSON string escaper; the other lines are in shardfmt.c,
 * the "t" formatter in shardt.c, the ESC stand-in's rule ("x1b") in
 * shardx1b.h. The encoder runs on every recorded byte: valid text is taken
 * a block at a time with bit masks (SSE2 where there is, a portable loop
 * elsewhere), the rest item by item, ESC written as the stand-in as it
 * goes (one pass, no rewrite); no allocation, no json-c.
 * Convention: a length or 0 on success, -errno on failure; never logs. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "b64.h"
#include "shardline.h"
#include "shardx1b.h"
#include "utf8.h"

#define LINE_LAST (SHARD_LINE_MAX - 1) /* longest line, its newline included */
#define BLOCK 48                       /* input bytes enc_block takes at once */
/* What enc_block may write past the end of d's room, which is inside the
 * line buffer: a block of \u00xx (6 bytes each), then a block's copy. */
#define LINE_SLACK (BLOCK * 6 + BLOCK)
#define RAW_KEY ",\"raw\":\""
#define RAW_KEY_LEN (sizeof(RAW_KEY) - 1)
#define D_KEY_LEN 5 /* "d":" , the end of the prefix */

enum { C_PLAIN = 0, C_HIGH = 1 };

/* Two ways of escaping, indexed by whether ESC is the stand-in (x, for
 * event lines; shard_json_escape never). What each byte becomes in a JSON
 * string: copied (C_PLAIN), the length of its escape in esc_text (2, 3 or
 * 6), or C_HIGH (a UTF-8 lead or stray). */
/* clang-format off */
#define ESC_TAB(esc) {								\
	[0x00 ... 0x07] = 6, [0x08 ... 0x0a] = 2, [0x0b] = 6, [0x0c ... 0x0d] = 2,	\
	[0x0e ... 0x1a] = 6, [0x1b] = (esc), [0x1c ... 0x1f] = 6, ['"'] = 2, ['\\'] = 2,	\
	[0x7f] = 6, [0x80 ... 0xff] = C_HIGH }
static const uint8_t esc_tab[2][256] = { ESC_TAB(6), ESC_TAB(SHARDX1B_CHAR_LEN) };
/* clang-format on */

/* The escapes themselves: the short forms, else \u00xx (or the stand-in).
 * Rows of 8 bytes, so enc_block copies any of them with one fixed-size
 * move. */
#define HEXD(d) ((d) < 10 ? '0' + (d) : 'a' - 10 + (d))
/* clang-format off */
#define U(c) { '\\', 'u', '0', '0', HEXD((c) >> 4), HEXD((c) & 15) }
#define S(x) { '\\', x }
#define ESC_TEXT(esc) {								\
	U(0x00), U(0x01), U(0x02), U(0x03), U(0x04), U(0x05), U(0x06), U(0x07),	\
	S('b'),  S('t'),  S('n'),  U(0x0b), S('f'),  S('r'),  U(0x0e), U(0x0f),	\
	U(0x10), U(0x11), U(0x12), U(0x13), U(0x14), U(0x15), U(0x16), U(0x17),	\
	U(0x18), U(0x19), U(0x1a), esc,     U(0x1c), U(0x1d), U(0x1e), U(0x1f),	\
	['"'] = S('"'), ['\\'] = S('\\'), [0x7f] = U(0x7f) }
static const char esc_text[2][0x80][8] = { ESC_TEXT(U(0x1b)), ESC_TEXT(SHARDX1B_CHAR) };
/* clang-format on */
#undef HEXD
#undef U
#undef S

/* One unit of escaping: k input bytes that become dlen bytes of JSON text. */
struct item {
	unsigned k, dlen;
	bool bad; /* an invalid subpart, written as U+FFFD */
};

/* The item at p[0..n), n > 0. Returns false when p[0..n) is the valid start
 * of a character that more bytes could complete. */
static inline bool item_at(const uint8_t *p, size_t n, struct item *it, bool x)
{
	uint8_t e = esc_tab[x][p[0]];
	int r;

	if (e != C_HIGH) {
		it->k = 1;
		it->dlen = e == C_PLAIN ? 1 : e;
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

/* Fixed-size copies only: a memcpy call for 1-6 bytes costs more. */
static inline void item_put(char *o, const uint8_t *p, const struct item *it, bool x)
{
	uint8_t e = esc_tab[x][p[0]];

	if (it->bad) {
		memcpy(o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
	} else if (e == C_PLAIN || e == C_HIGH) {
		o[0] = (char)p[0];
		if (it->k > 1)
			o[1] = (char)p[1];
		if (it->k > 2)
			o[2] = (char)p[2];
		if (it->k > 3)
			o[3] = (char)p[3];
	} else {
		memcpy(o, esc_text[x][p[0]], 2);
		if (e == 6)
			memcpy(o + 2, esc_text[x][p[0]] + 2, 4);
		else if (e == SHARDX1B_CHAR_LEN)
			o[2] = esc_text[x][p[0]][2];
	}
}

/* Whether the item at p is a real U+241B: a line with one cannot have the
 * stand-in. */
static inline bool item_real_x1b(const uint8_t *p, const struct item *it)
{
	return it->k == SHARDX1B_CHAR_LEN && !it->bad && memcmp(p, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN) == 0;
}

size_t shard_json_escape(char *out, size_t cap, const uint8_t *p, size_t n, size_t *used)
{
	size_t i = 0, o = 0;
	struct item it;

	while (i < n) {
		if (!item_at(p + i, n - i, &it, false)) {
			/* An incomplete tail is invalid here: nothing will follow. */
			it.k = (unsigned)(n - i);
			it.dlen = UTF8_REPLACEMENT_LEN;
			it.bad = true;
		}
		if (it.dlen > cap - o)
			break;
		item_put(out + o, p + i, &it, false);
		o += it.dlen;
		i += it.k;
	}
	if (used)
		*used = i;
	return o;
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
 * then seg[0..nseg). A line starts with ESC as the stand-in (x), and its
 * ESCs counted; one with a real U+241B is plain (!x) throughout. */
struct enc {
	char *line;      /* the prefix; SHARDX1B_MEMBER_LEN bytes before it are free */
	size_t hdr;      /* prefix length */
	size_t room;     /* most bytes of d's body in a line without raw */
	size_t room_raw; /* most bytes of d's body plus raw's base64 */
	size_t d;        /* d's body so far */
	size_t k;        /* ESCs in d (as stand-ins) */
	const uint8_t *pre, *seg;
	size_t npre, nseg;
	bool bad; /* the chunk needs raw */
	bool x;   /* ESC is written as the stand-in */
	shard_line_fn fn;
	void *userdata;
};

/* The room a stand-in line leaves unused, so that it fits whichever way it
 * is written: with the member, or plain, which is at most k * 3 <= 12
 * bytes longer (else it would pay). */
#define X_CUT(e) ((e)->x ? SHARDX1B_MEMBER_LEN : 0)

/* Whether the item fits after d bytes of body, cut bytes held back. */
static inline bool enc_fits(const struct enc *e, size_t d, size_t cut, const struct item *it)
{
	if (!e->bad && !it->bad)
		return d + it->dlen + cut <= e->room;
	return d + it->dlen + cut + B64_ENCODED_LEN(e->npre + e->nseg + it->k) <= e->room_raw;
}

/* Closes the line, hands it over (with the member before "d" when the
 * stand-ins pay, else with ESC back as "\u001b"), starts the next chunk
 * after this one, with the stand-in. */
static int enc_emit(struct enc *e)
{
	bool member = e->x && shardx1b_pays(e->k);
	char *head = e->line, *o;
	int r;

	if (e->npre + e->nseg == 0)
		return 0;
	if (e->x && !member && e->k > 0)
		e->d = shardx1b_unstand(e->line + e->hdr, e->d, e->k);
	o = e->line + e->hdr + e->d;
	*o++ = '"';
	if (e->bad) {
		memcpy(o, RAW_KEY, RAW_KEY_LEN);
		o += RAW_KEY_LEN;
		o += b64_encode_two(o, e->pre, e->npre, e->seg, e->nseg);
		*o++ = '"';
	}
	*o++ = '}';
	*o++ = '\n';
	if (member) {
		/* The prefix up to "d" moves into the free bytes before it,
		 * and back after: the next line has the same prefix. */
		head -= SHARDX1B_MEMBER_LEN;
		memmove(head, e->line, e->hdr - D_KEY_LEN);
		memcpy(head + e->hdr - D_KEY_LEN, SHARDX1B_MEMBER, SHARDX1B_MEMBER_LEN);
	}
	r = e->fn(e->userdata, head, (size_t)(o - head));
	if (member)
		memmove(e->line, head, e->hdr - D_KEY_LEN);
	e->seg += e->nseg;
	e->nseg = e->npre = e->d = e->k = 0;
	e->bad = false;
	e->x = true;
	return r < 0 ? r : 0;
}

/* Before the real U+241B it, the line (perhaps just begun) turns plain in
 * place if it still fits so with it, else ends (keeping its stand-ins if
 * they pay). Rare, so kept out of enc_add. */
static int enc_plain(struct enc *e, const struct item *it)
{
	int r;

	if (enc_fits(e, e->d + e->k * SHARDX1B_SAVES, 0, it))
		e->d = shardx1b_unstand(e->line + e->hdr, e->d, e->k);
	else if ((r = enc_emit(e)) < 0)
		return r;
	e->x = false;
	e->k = 0;
	return 0;
}

/* Adds the item at p (whose bytes are the next npre carried and then the
 * next k - npre input bytes) to the line, first emitting the line if full.
 * Forced inline: GCC no longer does it alone, and invalid bytes (an item
 * each) lose a fifth of their speed to the call. */
static inline __attribute__((always_inline)) int enc_add(struct enc *e, const uint8_t *p, const struct item *it,
							 size_t npre)
{
	bool real = item_real_x1b(p, it);
	int r;

	if (!(real && e->x) && !enc_fits(e, e->d, X_CUT(e), it) && (r = enc_emit(e)) < 0)
		return r;
	if (real && e->x && (r = enc_plain(e, it)) < 0)
		return r;
	item_put(e->line + e->hdr + e->d, p, it, e->x);
	e->k += e->x && p[0] == 0x1b;
	/* it was measured for the line before, which may have been plain */
	e->d += p[0] == 0x1b ? esc_tab[e->x][0x1b] : it->dlen;
	e->npre += npre;
	e->nseg += it->k - npre;
	e->bad |= it->bad;
	return 0;
}

/* Terminal output has an escape, a UTF-8 character or a line end every
 * 10-20 bytes, so item by item it costs a stop each. enc_block takes BLOCK
 * bytes at once, with a bit mask per kind of byte: valid text is copied
 * whole and only its escapes move the rest, so the cost is per block and
 * per escape. Its UTF-8 is valid when every lead byte (>= 0xc0; >= 0xe0:
 * lead3, >= 0xf0: lead4) is followed by exactly as many continuation bytes
 * (cont, 0x80-0xbf) as its length asks, no other byte is a continuation
 * byte, and the leads this does not cover pass utf8_seq: special, the
 * never valid c0 c1 f5-ff and e0 ed f0 f4, whose second byte has a
 * narrower range (f1-f3 come along with f0-ff, harmlessly). A real
 * U+241B (e2 90 9b) is left to the item path while ESC is the stand-in:
 * only blocks with high bytes need the look, and only at their 0x9b bytes
 * (real; rarer than 0xe2 in text, and one compare). */

/* Bit j of each mask is about byte j of the block. */
struct block_masks {
	uint64_t esc, high, cont, lead, lead3, lead4, special, real;
};

/* Whether the 0x9b at p[j] of a valid block ends a real U+241B (a block
 * starts at a character: one whose lead is before it is none). */
static inline bool block_real_at(const uint8_t *p, size_t j)
{
	return j >= 2 && p[j - 2] == 0xe2 && p[j - 1] == 0x90;
}

#if defined(__SSE2__) && !defined(SHARDLINE_NO_SIMD)
#include <emmintrin.h>

static inline __m128i load16(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static inline void block_copy(char *o, const uint8_t *p)
{
	for (unsigned h = 0; h < BLOCK; h += 16)
		_mm_storeu_si128((__m128i *)(void *)(o + h), load16(p + h));
}

static inline uint64_t bytes_eq(__m128i v, int c)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)c)));
}

/* Signed compares: bytes >= 0x80 are the negative ones. */
static inline uint64_t bytes_gt(__m128i v, int c)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8((char)c)));
}

/* esc and high (>= 0x80) only: all that blocks of ASCII need. */
static inline void block_scan(const uint8_t *p, struct block_masks *m)
{
	uint64_t plain = 0;

	m->high = 0;
	for (unsigned h = 0; h < BLOCK; h += 16) {
		__m128i v = load16(p + h);
		__m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)),
						  _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
		__m128i quote = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
					     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));

		plain |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_andnot_si128(quote, printable)) << h;
		m->high |= (uint64_t)(unsigned)_mm_movemask_epi8(v) << h;
	}
	m->esc = ~plain & ~m->high & ((UINT64_C(1) << BLOCK) - 1);
}

/* The other masks, for a block with high bytes. */
static inline void block_scan_utf8(const uint8_t *p, struct block_masks *m)
{
	uint64_t lead = 0, lead3 = 0, lead4 = 0, special = 0, x9b = 0;

	for (unsigned h = 0; h < BLOCK; h += 16) {
		__m128i v = load16(p + h);

		lead |= bytes_gt(v, (char)0xbf) << h;
		lead3 |= bytes_gt(v, (char)0xdf) << h;
		lead4 |= bytes_gt(v, (char)0xef) << h;
		special |= (bytes_eq(v, 0xc0) | bytes_eq(v, 0xc1) | bytes_eq(v, 0xe0) | bytes_eq(v, 0xed)) << h;
		x9b |= bytes_eq(v, 0x9b) << h;
	}
	m->real = x9b;
	/* The signed compares also set the bits of ASCII bytes. */
	m->lead = m->high & lead;
	m->cont = m->high & ~lead;
	m->lead3 = m->high & lead3;
	m->lead4 = m->high & lead4;
	m->special = special | m->lead4;
}
#else
static inline void block_copy(char *o, const uint8_t *p)
{
	memcpy(o, p, BLOCK);
}

static inline void block_scan(const uint8_t *p, struct block_masks *m)
{
	m->esc = m->high = 0;
	for (unsigned j = 0; j < BLOCK; j++) {
		m->esc |= (uint64_t)(esc_tab[0][p[j]] > C_HIGH) << j;
		m->high |= (uint64_t)(p[j] >= 0x80) << j;
	}
}

static inline void block_scan_utf8(const uint8_t *p, struct block_masks *m)
{
	m->cont = m->lead = m->lead3 = m->lead4 = m->special = m->real = 0;
	for (unsigned j = 0; j < BLOCK; j++) {
		uint8_t c = p[j];

		m->real |= (uint64_t)(c == 0x9b) << j;
		m->cont |= (uint64_t)(c >= 0x80 && c < 0xc0) << j;
		m->lead |= (uint64_t)(c >= 0xc0) << j;
		m->lead3 |= (uint64_t)(c >= 0xe0) << j;
		m->lead4 |= (uint64_t)(c >= 0xf0) << j;
		m->special |= (uint64_t)(c == 0xc0 || c == 0xc1 || c == 0xe0 || c == 0xed || c >= 0xf0) << j;
	}
}
#endif

/* Encodes the BLOCK bytes at p, if they are valid text and fit before end,
 * at *op (ESC as the stand-in if x, counted in *k) and returns the input
 * bytes taken: BLOCK, or fewer when a character crosses the block's end.
 * p[0..2 * BLOCK) must be readable, and LINE_SLACK bytes past end
 * writable. Returns 0 (having written nothing that counts) when the block
 * has an invalid sequence, does not fit, or (x) has a real U+241B. */
static inline size_t enc_block(char **op, const uint8_t *p, const char *end, bool x, size_t *k)
{
	struct block_masks m;
	uint64_t mask = (UINT64_C(1) << BLOCK) - 1, want, s;
	size_t take = BLOCK, pos = 0, j, nesc = 0;
	char *o = *op;

	block_scan(p, &m);
	if (!(m.high | m.esc)) {
		block_copy(o, p);
		o += BLOCK;
		goto fits;
	}
	if (m.high) {
		block_scan_utf8(p, &m);
		/* A character that crosses the end starts at the last lead;
		 * it is left to the next block. */
		if ((m.lead << 1 | m.lead3 << 2 | m.lead4 << 3) >> BLOCK) {
			take = 63u - (unsigned)__builtin_clzll(m.lead);
			mask = (UINT64_C(1) << take) - 1;
		}
		/* The continuation bytes the leads before take ask for; none
		 * may reach take, which is where the next character starts. */
		want = (m.lead & mask) << 1 | (m.lead3 & mask) << 2 | (m.lead4 & mask) << 3;
		if (want != (m.cont & mask))
			return 0;
		for (s = m.special & mask; s; s &= s - 1)
			if (utf8_seq(p + __builtin_ctzll(s), 4) <= 0)
				return 0;
		if (x)
			for (s = m.real & mask; s; s &= s - 1)
				if (block_real_at(p, (size_t)__builtin_ctzll(s)))
					return 0;
	}
	/* Copy it all, then at each escape: its text (one 8-byte move from
	 * esc_text), and the rest of the block again after it. */
	block_copy(o, p);
	for (s = m.esc & mask; s; s &= s - 1) {
		j = (size_t)__builtin_ctzll(s);
		o += j - pos;
		memcpy(o, esc_text[x][p[j]], 8);
		o += esc_tab[x][p[j]];
		nesc += p[j] == 0x1b;
		pos = j + 1;
		block_copy(o, p + pos);
	}
	o += take - pos;
fits:
	if (o > end)
		return 0;
	*op = o;
	*k += nesc;
	return take;
}

/* Fills the line (valid text so far) with the items of p[i..n) while they
 * are valid and fit without raw: plain runs, escapes, complete characters.
 * Returns where it stopped: at n, at a plain byte or an escape or character
 * the line has no room for (enc_add emits the line first), at an invalid
 * or incomplete sequence (for enc_add or the carry), or at a real U+241B
 * in a stand-in line (for enc_add). */
static size_t enc_text(struct enc *e, const uint8_t *p, size_t i, size_t n)
{
	const bool x = e->x;
	char *o = e->line + e->hdr + e->d;
	char *const end = e->line + e->hdr + e->room - X_CUT(e);
	size_t from = i, nesc = e->k;
	struct item it;

	while (i < n) {
		size_t k, stop;

		while (n - i >= 2 * BLOCK && (k = enc_block(&o, p + i, end, x, &nesc)) > 0)
			i += k;
		/* A block with an invalid or incomplete sequence, or the last
		 * bytes of the input or of the line: item by item, a block's
		 * worth before trying blocks again. */
		for (stop = i + BLOCK; i < stop && i < n; i += it.k) {
			if (!item_at(p + i, n - i, &it, x) || it.bad || it.dlen > (size_t)(end - o) ||
			    (x && item_real_x1b(p + i, &it)))
				goto out;
			item_put(o, p + i, &it, x);
			o += it.dlen;
			nesc += x && p[i] == 0x1b;
		}
	}
out:
	e->k = nesc;
	e->d = (size_t)(o - (e->line + e->hdr));
	e->nseg += i - from;
	return i;
}

/* The carried bytes and what of data completes (or breaks) them, as items;
 * returns how many bytes of data they took, or -EAGAIN when all of data only
 * extends the carry. */
static int enc_carry(struct enc *e, struct shard_utf8 *carry, uint8_t *pre, size_t npre, const uint8_t *data, size_t n,
		     size_t *taken)
{
	size_t take = n < 4 ? n : 4, m = npre + take, j = 0;
	struct item it;
	int r;

	memcpy(pre + npre, data, take);
	e->pre = pre;
	while (j < npre) {
		if (!item_at(pre + j, m - j, &it, e->x)) {
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

int shard_encode_event(struct shard_utf8 *carry, const char *sid, double t, char ch, const uint8_t *data, size_t n,
		       shard_line_fn fn, void *userdata)
{
	char line[SHARDX1B_MEMBER_LEN + SHARD_LINE_MAX + LINE_SLACK];
	uint8_t pre[8];
	size_t npre = carry->len < 4 ? carry->len : 4, i = 0;
	struct enc e = { .line = line + SHARDX1B_MEMBER_LEN, .x = true, .seg = data, .fn = fn, .userdata = userdata };
	struct item it;
	int r;

	if (n == 0)
		return 0;
	if ((r = event_prefix(e.line, sid, t, ch)) < 0)
		return r;
	e.hdr = (size_t)r;
	e.room = LINE_LAST - e.hdr - 3;                   /* "}\n */
	e.room_raw = LINE_LAST - e.hdr - 4 - RAW_KEY_LEN; /* ",raw":"..."}\n */
	memcpy(pre, carry->buf, npre);
	carry->len = 0;
	if (npre) {
		r = enc_carry(&e, carry, pre, npre, data, n, &i);
		if (r < 0)
			return r == -EAGAIN ? 0 : r;
	}
	while (i < n) {
		if (!e.bad && (i = enc_text(&e, data, i, n)) == n)
			break;
		/* What enc_text leaves: a full line, an invalid or incomplete
		 * sequence, any item of a line that already needs raw. */
		if (!item_at(data + i, n - i, &it, e.x)) {
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

int shard_encode_flush(struct shard_utf8 *carry, const char *sid, double t, char ch, shard_line_fn fn, void *userdata)
{
	char line[SHARD_LINE_MAX];
	size_t n = carry->len < 4 ? carry->len : 4;
	struct enc e = { .line = line, .pre = carry->buf, .seg = carry->buf, .fn = fn, .userdata = userdata };
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
