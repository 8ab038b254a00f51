/* termquery: report requests and clipboard writes out of `play`'s output,
 * terminal answers out of its keys (see termquery.h). The output parser
 * follows the DEC VT500 state machine as xterm implements it, in 7-bit
 * (ESC [) and 8-bit forms (C1 as UTF-8, C2 9B, or a raw 9B byte), and
 * holds each sequence until it can tell whether it is harmless. What it
 * cannot tell (a malformed or aborted sequence) is dropped, never passed:
 * a terminal that got half of it could complete it into a query.
 * Convention: lengths, never errors. */
#include <string.h>

#include "termquery.h"

enum { GROUND, ESC, ESC_INT, CSI, STR, STR_ESC };
enum { HOLD, DROP, PASS };

#define BEL 0x07
#define ENQ 0x05
#define CAN 0x18
#define SUB 0x1a
#define ESCAPE 0x1b

void termquery_filter_init(struct termquery_filter *f)
{
	memset(f, 0, sizeof(*f));
}

/* ---- what is dropped ---- */

/* CSI: report requests (DA, DSR/CPR, DECRQM, DECREQTPARM, XTVERSION,
 * XTWINOPS reports, the kitty keyboard query, DECRQCRA, DECRQPSR, DECRQTSR,
 * XTQMODKEYS, XTSMGRAPHICS, XTREPORTSGR, DECRQDE, DECRQLP), window
 * manipulation (XTWINOPS but the title stack) and media copy. */
static bool csi_drop(const uint8_t *p, size_t n)
{
	uint8_t priv = 0, inter = 0, fin;
	unsigned first = 0;
	bool in_first = true;

	if (n == 0)
		return true;
	fin = p[n - 1];
	for (size_t i = 0; i + 1 < n; i++) {
		uint8_t b = p[i];

		if (b >= 0x3c && b <= 0x3f && i == 0)
			priv = b;
		else if (b >= '0' && b <= '9' && in_first && first < 100000)
			first = first * 10 + (unsigned)(b - '0');
		else if (b == ';' || b == ':')
			in_first = false;
		else if (b >= 0x20 && b <= 0x2f)
			inter = b;
	}
	switch (fin) {
	case 'c':
		return !inter && (!priv || priv == '>' || priv == '=');
	case 'n':
		return !inter && (!priv || priv == '?');
	case 'x':
		return !inter && !priv;
	case 't':
		return !inter && !priv && first != 22 && first != 23;
	case 'p':
		return inter == '$';
	case 'q':
		return priv == '>' && !inter;
	case 'u':
		return priv == '?' || inter == '$';
	case 'w':
		return inter == '$';
	case 'y':
		return inter == '*';
	case 'm':
		return priv == '?';
	case 'S':
		return priv == '?';
	case 'i':
		return !inter;
	case '|':
		return inter == '#' || inter == '\'';
	case 'v':
		return inter == '"';
	default:
		return false;
	}
}

/* OSC: clipboard (52, kitty's 5522), file transfer (kitty's 5113), iTerm2's
 * extensions (1337: reports, clipboard copies, downloads), and any colour,
 * font or kitty query (a field "?" or "key=?"). complete: the whole string
 * is here; else it is judged on its start, and dropped if it could hold a
 * query. */
static bool osc_drop(const uint8_t *p, size_t n, bool complete)
{
	unsigned ps = 0;
	size_t i = 0, start;

	for (; i < n && p[i] >= '0' && p[i] <= '9' && ps < 100000; i++)
		ps = ps * 10 + (unsigned)(p[i] - '0');
	if (ps == 52 || ps == 1337 || ps == 5113 || ps == 5522)
		return true;
	if (!complete)
		return ps == 4 || ps == 5 || (ps >= 10 && ps <= 21) || ps == 50 || ps == 99;
	for (start = i; i <= n; i++) {
		if (i < n && p[i] != ';')
			continue;
		if ((i - start == 1 && p[start] == '?') || (i - start >= 2 && p[i - 1] == '?' && p[i - 2] == '='))
			return true;
		start = i + 1;
	}
	return false;
}

/* DCS: only pictures and fonts go through (sixel "q", ReGIS "p", DECDLD
 * "{"); DECRQSS ("$q"), XTGETTCAP ("+q"), DECUDK (key programming), tmux's
 * and screen's pass-through to an outer terminal and the rest are dropped. */
static bool dcs_drop(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] >= 0x30 && p[i] <= 0x3f)
		i++;
	if (i >= n || (p[i] >= 0x20 && p[i] <= 0x2f))
		return true;
	return !(p[i] == 'q' || p[i] == 'p' || p[i] == '{');
}

/* Whether the sequence held (complete, or the start of a long one) goes. */
static bool judge(const struct termquery_filter *f, bool complete)
{
	const uint8_t *p = f->buf + f->body;
	size_t n = f->len - f->body;

	if (complete && f->kind && f->kind != '[' && n > 0) {
		/* a string's body without its end: BEL, ESC \, ST as UTF-8 or 8-bit */
		if (n >= 2 && (p[n - 2] == ESCAPE || (p[n - 2] == 0xc2 && p[n - 1] == 0x9c)))
			n -= 2;
		else if (p[n - 1] == BEL || p[n - 1] == 0x9c)
			n--;
	}
	switch (f->kind) {
	case '[':
		return !complete || csi_drop(p, n);
	case ']':
		return osc_drop(p, n, complete);
	case 'P':
		return dcs_drop(p, n);
	case 0:
		return false;
	default:
		return true; /* APC (kitty's graphics answer), PM, SOS */
	}
}

/* ---- the output parser ---- */

static size_t emit(uint8_t *out, size_t o, const uint8_t *p, size_t n)
{
	memcpy(out + o, p, n);
	return o + n;
}

/* Back to ground, nothing held. */
static void reset(struct termquery_filter *f)
{
	f->state = GROUND;
	f->mode = HOLD;
	f->len = 0;
	f->c2 = false;
	f->cont = 0;
}

/* The held sequence is judged whole: passed or dropped; back to ground. */
static size_t finish(struct termquery_filter *f, uint8_t *out, size_t o)
{
	if (f->mode == HOLD) {
		if (judge(f, true))
			f->dropped++;
		else
			o = emit(out, o, f->buf, f->len);
	}
	reset(f);
	return o;
}

/* An aborted or malformed sequence: never passed (a CAN ends one that was
 * being passed); back to ground. */
static size_t abort_seq(struct termquery_filter *f, uint8_t *out, size_t o)
{
	if (f->mode == PASS)
		out[o++] = CAN;
	else
		f->dropped++;
	reset(f);
	return o;
}

static void start(struct termquery_filter *f, int state, char kind, const uint8_t *intro, size_t n)
{
	f->state = state;
	f->mode = HOLD;
	f->c2 = false;
	f->cont = 0;
	f->kind = kind;
	memcpy(f->buf, intro, n);
	f->len = f->body = n;
}

/* A byte of the sequence: held, passed or dropped as its mode says. A
 * sequence that outgrows the buffer is judged on its start. */
static size_t add(struct termquery_filter *f, uint8_t b, uint8_t *out, size_t o)
{
	if (f->mode == PASS) {
		out[o++] = b;
		return o;
	}
	if (f->mode == DROP)
		return o;
	if (f->len == sizeof(f->buf)) {
		if (judge(f, false)) {
			f->mode = DROP;
			f->dropped++;
			f->len = 0;
			return o;
		}
		o = emit(out, o, f->buf, f->len);
		f->len = 0;
		f->mode = PASS;
		out[o++] = b;
		return o;
	}
	f->buf[f->len++] = b;
	return o;
}

/* A C1 control (code 0x80-0x9f) that came as intro[0..n). */
static size_t c1(struct termquery_filter *f, uint8_t code, const uint8_t *intro, size_t n, uint8_t *out, size_t o)
{
	static const char kinds[32] = {
		[0x10] = 'P', [0x18] = 'X', [0x1b] = '[', [0x1d] = ']', [0x1e] = '^', [0x1f] = '_'
	};
	char kind = kinds[code - 0x80];

	if (kind)
		start(f, kind == '[' ? CSI : STR, kind, intro, n);
	else if (code == 0x9a) /* DECID's 8-bit form: the terminal answers DA */
		f->dropped++;
	else
		o = emit(out, o, intro, n);
	return o;
}

static size_t ground(struct termquery_filter *f, uint8_t b, uint8_t *out, size_t o)
{
	if (f->c2) {
		f->c2 = false;
		if (b >= 0x80 && b <= 0x9f)
			return c1(f, b, (const uint8_t[]){ 0xc2, b }, 2, out, o);
		out[o++] = 0xc2;
		f->cont = 1;
	}
	if (f->cont && b >= 0x80 && b <= 0xbf) {
		f->cont--;
		out[o++] = b;
		return o;
	}
	f->cont = 0;
	if (b == ESCAPE) {
		start(f, ESC, 0, &b, 1);
	} else if (b == ENQ) {
		f->dropped++; /* the answerback message */
	} else if (b == 0xc2) {
		f->c2 = true;
	} else if (b >= 0x80 && b <= 0x9f) {
		o = c1(f, b, &b, 1, out, o);
	} else {
		if (b >= 0xc3 && b <= 0xf4)
			f->cont = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
		out[o++] = b;
	}
	return o;
}

/* A byte of a string (OSC, DCS, APC, PM, SOS). Its text may be UTF-8; a
 * C1 control in it (8-bit or as UTF-8) ends it as a VT500 parser would: ST
 * as its end, any other unjudged, the control starting anew. BEL ends an
 * OSC, and some terminals end the others with it too, so what follows is
 * judged as if they all did. */
static size_t str_byte(struct termquery_filter *f, uint8_t b, uint8_t *out, size_t o)
{
	if (b == ESCAPE) {
		f->state = STR_ESC; /* added with what follows it */
		return o;
	}
	if (f->c2) {
		f->c2 = false;
		if (b >= 0x80 && b <= 0x9f) {
			if (b == 0x9c)
				return finish(f, out, add(f, b, out, o));
			o = abort_seq(f, out, o);
			return c1(f, b, (const uint8_t[]){ 0xc2, b }, 2, out, o);
		}
		f->cont = 1;
	}
	if (f->cont && b >= 0x80 && b <= 0xbf) {
		f->cont--;
		return add(f, b, out, o);
	}
	f->cont = 0;
	if (b >= 0x80 && b <= 0x9f) {
		if (b == 0x9c)
			return finish(f, out, add(f, b, out, o));
		return ground(f, b, out, abort_seq(f, out, o));
	}
	o = add(f, b, out, o);
	if (b == BEL)
		return finish(f, out, o);
	if (b == 0xc2)
		f->c2 = true;
	else if (b >= 0xc3 && b <= 0xf4)
		f->cont = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
	return o;
}

static size_t step(struct termquery_filter *f, uint8_t b, uint8_t *out, size_t o)
{
	if (f->state == GROUND)
		return ground(f, b, out, o);
	if (b == ENQ) {
		f->dropped++; /* executed inside a sequence too */
		return o;
	}
	if (b == CAN || b == SUB) {
		o = abort_seq(f, out, o);
		out[o++] = b;
		return o;
	}
	switch (f->state) {
	case ESC:
	case ESC_INT:
		if (b == ESCAPE) {
			f->dropped++; /* a lone ESC, restarted */
			start(f, ESC, 0, &b, 1);
		} else if (f->state == ESC && (b == '[' || b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_')) {
			f->state = b == '[' ? CSI : STR;
			f->kind = (char)b;
			o = add(f, b, out, o);
			f->body = f->len;
		} else if (b >= 0x20 && b <= 0x2f) {
			f->state = ESC_INT;
			o = add(f, b, out, o);
		} else if (b >= 0x30 && b <= 0x7e) {
			if (f->state == ESC && b == 'Z') { /* DECID: answered like DA */
				f->len = 0;
				f->mode = HOLD;
				f->state = GROUND;
				f->dropped++;
				return o;
			}
			o = add(f, b, out, o);
			o = finish(f, out, o);
		} else if (b < 0x20 || b == 0x7f) {
			o = add(f, b, out, o); /* executed by the terminal, sequence goes on */
		} else {
			o = abort_seq(f, out, o);
			o = ground(f, b, out, o);
		}
		return o;
	case CSI:
		if (b >= 0x40 && b <= 0x7e) {
			o = add(f, b, out, o); /* a CSI too long to hold is dropped, never passed */
			return finish(f, out, o);
		}
		if ((b >= 0x20 && b <= 0x3f) || b < 0x20 || b == 0x7f) {
			if (b == ESCAPE) {
				o = abort_seq(f, out, o);
				start(f, ESC, 0, &b, 1);
				return o;
			}
			return add(f, b, out, o);
		}
		o = abort_seq(f, out, o);
		return ground(f, b, out, o);
	case STR:
		return str_byte(f, b, out, o);
	case STR_ESC:
		if (b == '\\') {
			o = add(f, ESCAPE, out, o);
			o = add(f, b, out, o);
			return finish(f, out, o);
		}
		/* ESC ends the string without ST: the terminal's reading of it is
		 * not ours to guess, so it goes; the ESC starts anew. */
		o = abort_seq(f, out, o);
		start(f, ESC, 0, (const uint8_t[]){ ESCAPE }, 1);
		return step(f, b, out, o);
	}
	return o;
}

size_t termquery_filter(struct termquery_filter *f, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (f->state == GROUND && !f->c2 && !f->cont) {
			/* the common case: a run of plain text */
			size_t j = i;

			while (j < n && in[j] >= 0x20 && in[j] < 0x7f)
				j++;
			if (j > i) {
				o = emit(out, o, in + i, j - i);
				i = j - 1;
				continue;
			}
		}
		o = step(f, in[i], out, o);
	}
	return o;
}

size_t termquery_filter_end(struct termquery_filter *f, uint8_t *out)
{
	size_t o = 0;

	if (f->state != GROUND)
		o = abort_seq(f, out, 0);
	else if (f->c2)
		out[o++] = 0xc2; /* held in case a C1 control followed: none will */
	f->c2 = false;
	f->cont = 0;
	return o;
}

/* ---- the input parser ---- */

enum { K_GROUND, K_ESC, K_CSI, K_SS3, K_STR, K_STR_ESC };

#define KEYS_SEQ_MAX 4096 /* an answer longer than this is no answer: keys count again */

void termquery_keys_init(struct termquery_keys *k)
{
	memset(k, 0, sizeof(*k));
}

static void k_enter(struct termquery_keys *k, int state)
{
	k->state = state;
	k->len = 0;
}

size_t termquery_keys(struct termquery_keys *k, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[i];

		if (b == 0x03) { /* Ctrl-C always counts */
			k_enter(k, K_GROUND);
			out[o++] = b;
			continue;
		}
		if (k->state != K_GROUND && ++k->len > KEYS_SEQ_MAX)
			k_enter(k, K_GROUND);
		switch (k->state) {
		case K_GROUND:
			if (b == ESCAPE)
				k_enter(k, K_ESC);
			else if (b == 0x9b)
				k_enter(k, K_CSI);
			else if (b == 0x8f)
				k_enter(k, K_SS3);
			else if (b == 0x90 || b == 0x9d || b == 0x98 || b == 0x9e || b == 0x9f)
				k_enter(k, K_STR);
			else if (b < 0x80)
				out[o++] = b;
			break;
		case K_ESC:
			if (b == '[')
				k->state = K_CSI;
			else if (b == 'O')
				k->state = K_SS3;
			else if (b == 'P' || b == ']' || b == 'X' || b == '^' || b == '_')
				k->state = K_STR;
			else if (b != ESCAPE)
				k_enter(k, K_GROUND); /* Alt+key: not a key of play's */
			break;
		case K_CSI:
			if (b == ESCAPE)
				k_enter(k, K_ESC);
			else if (!(b >= 0x20 && b <= 0x3f))
				k_enter(k, K_GROUND); /* the final byte */
			break;
		case K_SS3:
			k_enter(k, K_GROUND);
			break;
		case K_STR:
			if (b == ESCAPE)
				k->state = K_STR_ESC;
			else if (b == BEL || b == 0x9c)
				k_enter(k, K_GROUND);
			break;
		case K_STR_ESC:
			if (b == '\\')
				k_enter(k, K_GROUND);
			else if (b == '[')
				k->state = K_CSI; /* an unterminated answer, then another */
			else if (b != ESCAPE)
				k->state = K_STR;
			break;
		}
	}
	return o;
}
