/* termtext: a small VT parser (states after Paul Williams' DEC parser) over
 * a one-line model, enough to recover the text of shell sessions: prompts,
 * echoed commands after line editing, progress lines rewritten with \r.
 * Convention: 0 or the line callback's negative value. */
#include <stddef.h>
#include <string.h>

#include "termtext.h"
#include "utf8.h"

enum { GROUND, ESC, ESC_INTER, CSI, SS, STR, STR_ESC };

static size_t char_len_at(const struct termtext *tt, size_t pos)
{
	uint8_t c = (uint8_t)tt->line[pos];
	size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	return pos + k <= tt->len ? k : tt->len - pos;
}

static size_t prev_char(const struct termtext *tt, size_t pos)
{
	while (pos > 0 && ((uint8_t)tt->line[--pos] & 0xc0) == 0x80)
		;
	return pos;
}

static void emit(struct termtext *tt, double t)
{
	size_t n = tt->len;

	while (n > 0 && (tt->line[n - 1] == ' ' || tt->line[n - 1] == '\t'))
		n--;
	if (!tt->err) {
		int r = tt->fn(tt->userdata, tt->started ? tt->t : t, tt->line, n);

		if (r < 0)
			tt->err = r;
	}
	tt->len = tt->cur = 0;
	tt->started = false;
}

/* Writes one character at the cursor: over the one there (output) or before
 * it (input). A full line is emitted first. */
static void put(struct termtext *tt, double t, const char *c, size_t n)
{
	size_t old = !tt->input && tt->cur < tt->len ? char_len_at(tt, tt->cur) : 0;

	if (tt->len - old + n > TERMTEXT_LINE_MAX) {
		emit(tt, t);
		old = 0;
	}
	if (!tt->started) {
		tt->started = true;
		tt->t = t;
	}
	memmove(tt->line + tt->cur + n, tt->line + tt->cur + old, tt->len - tt->cur - old);
	memcpy(tt->line + tt->cur, c, n);
	tt->len = tt->len - old + n;
	tt->cur += n;
}

static void move_right(struct termtext *tt, double t, unsigned k)
{
	while (k-- > 0) {
		if (tt->cur < tt->len)
			tt->cur += char_len_at(tt, tt->cur);
		else if (!tt->input && tt->len < TERMTEXT_LINE_MAX)
			put(tt, t, " ", 1);
		else
			return;
	}
}

static void move_left(struct termtext *tt, unsigned k)
{
	while (k-- > 0 && tt->cur > 0)
		tt->cur = prev_char(tt, tt->cur);
}

/* Removes k characters from the cursor on. */
static void delete_chars(struct termtext *tt, unsigned k)
{
	size_t end = tt->cur;

	while (k-- > 0 && end < tt->len)
		end += char_len_at(tt, end);
	memmove(tt->line + tt->cur, tt->line + end, tt->len - end);
	tt->len -= end - tt->cur;
}

/* Removes [from, cursor). */
static void erase_back(struct termtext *tt, size_t from)
{
	memmove(tt->line + from, tt->line + tt->cur, tt->len - tt->cur);
	tt->len -= tt->cur - from;
	tt->cur = from;
}

static void insert_blanks(struct termtext *tt, unsigned k)
{
	if (k > TERMTEXT_LINE_MAX - tt->len)
		k = (unsigned)(TERMTEXT_LINE_MAX - tt->len);
	memmove(tt->line + tt->cur + k, tt->line + tt->cur, tt->len - tt->cur);
	memset(tt->line + tt->cur, ' ', k);
	tt->len += k;
}

/* Blanks k characters from the cursor on, the cursor staying. */
static void blank_chars(struct termtext *tt, double t, unsigned k)
{
	size_t at = tt->cur;
	bool input = tt->input;

	tt->input = false;
	while (k-- > 0 && tt->cur < tt->len)
		put(tt, t, " ", 1);
	tt->input = input;
	tt->cur = at;
}

static void csi_output(struct termtext *tt, double t, uint8_t f, unsigned p0)
{
	unsigned n = p0 ? p0 : 1;
	size_t at;
	unsigned cols = 0;

	/* clang-format off */
	switch (f) {
	case 'K':
		if (p0 == 0) {
			tt->len = tt->cur;
			break;
		}
		for (at = 0; at < tt->cur; at = at + char_len_at(tt, at))
			cols++;
		if (p0 == 1) { /* the cursor's own cell included */
			tt->cur = 0;
			blank_chars(tt, t, cols + 1);
			move_right(tt, t, cols);
		} else if (p0 == 2) {
			tt->len = tt->cur = 0;
			move_right(tt, t, cols);
		}
		break;
	case 'C': case 'a': move_right(tt, t, n); break;
	case 'D': move_left(tt, n); break;
	case 'G': case '`':
		tt->cur = 0;
		move_right(tt, t, n - 1);
		break;
	case 'P': delete_chars(tt, n); break;
	case '@': insert_blanks(tt, n); break;
	case 'X': blank_chars(tt, t, n); break;
	default: break;
	}
	/* clang-format on */
}

/* Editing keys in typed input: CSI or SS3 sequences. */
static void key_input(struct termtext *tt, uint8_t f, unsigned p0)
{
	if (f == '~') {
		if (p0 == 1 || p0 == 7)
			f = 'H';
		else if (p0 == 4 || p0 == 8)
			f = 'F';
		else if (p0 == 3)
			f = 'P';
	}
	/* clang-format off */
	switch (f) {
	case 'C': move_right(tt, 0, 1); break;
	case 'D': move_left(tt, 1); break;
	case 'H': tt->cur = 0; break;
	case 'F': tt->cur = tt->len; break;
	case 'P': delete_chars(tt, 1); break;
	default: break;
	}
	/* clang-format on */
}

static void control(struct termtext *tt, double t, uint8_t b)
{
	size_t at;

	if (!tt->input) {
		if (b == '\n' || b == 0x0b || b == 0x0c)
			emit(tt, t);
		else if (b == '\r')
			tt->cur = 0;
		else if (b == '\b')
			move_left(tt, 1);
		else if (b == '\t')
			put(tt, t, "\t", 1);
		return;
	}
	switch (b) {
	case '\n':
		if (tt->cr)
			break;
		/* fall through */
	case '\r':
		emit(tt, t);
		break;
	case 0x03:
		if (tt->len)
			emit(tt, t);
		break;
	case 0x7f:
	case '\b':
		erase_back(tt, prev_char(tt, tt->cur));
		break;
	case 0x15:
		erase_back(tt, 0);
		break;
	case 0x17:
		at = tt->cur;
		while (at > 0 && tt->line[at - 1] == ' ')
			at--;
		while (at > 0 && tt->line[at - 1] != ' ')
			at--;
		erase_back(tt, at);
		break;
	case '\t':
		put(tt, t, "\t", 1);
		break;
	default:
		break;
	}
}

static void byte(struct termtext *tt, double t, uint8_t b);

static void ground(struct termtext *tt, double t, uint8_t b)
{
	int k;

	if (tt->npend == 0 && b < 0x80) {
		if (b == 0x1b)
			tt->state = ESC;
		else if (b < 0x20 || b == 0x7f)
			control(tt, t, b);
		else
			put(tt, t, (const char *)&b, 1);
		return;
	}
	tt->pend[tt->npend++] = b;
	k = utf8_seq(tt->pend, tt->npend);
	if (k == 0)
		return;
	if (k > 0) {
		/* C1 controls (U+0080..U+009F) are invisible */
		if (!(tt->pend[0] == 0xc2 && tt->pend[1] < 0xa0))
			put(tt, t, (const char *)tt->pend, (size_t)k);
		tt->npend = 0;
		return;
	}
	uint8_t rest[4];
	size_t nrest = tt->npend - (size_t)-k;

	memcpy(rest, tt->pend + (size_t)-k, nrest);
	tt->npend = 0;
	put(tt, t, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
	for (size_t i = 0; i < nrest; i++)
		byte(tt, t, rest[i]);
}

static void esc(struct termtext *tt, double t, uint8_t b)
{
	tt->state = GROUND;
	if (b == '[') {
		tt->state = CSI;
		tt->nparam = 0;
		tt->param[0] = tt->param[1] = 0;
		tt->private_csi = false;
	} else if (b == 'O' || (b == 'N' && !tt->input)) {
		tt->state = SS;
	} else if (tt->input) {
		if (b == 0x1b)
			tt->state = ESC;
		else if (b >= 0x80)
			ground(tt, t, b);
	} else if (b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_') {
		tt->state = STR;
		tt->strlen_ = 0;
	} else if (b >= 0x20 && b <= 0x2f) {
		tt->state = ESC_INTER;
	} else if (b == 0x1b) {
		tt->state = ESC;
	} else if (b < 0x20 && b != 0x18 && b != 0x1a) {
		control(tt, t, b);
		tt->state = ESC;
	} else if (b >= 0x80) {
		ground(tt, t, b);
	}
}

static void csi(struct termtext *tt, double t, uint8_t b)
{
	if (b >= '0' && b <= '9') {
		unsigned *p = tt->nparam < 2 ? &tt->param[tt->nparam] : NULL;

		if (p && *p < 10000)
			*p = *p * 10 + (unsigned)(b - '0');
	} else if (b == ';') {
		tt->nparam++;
	} else if (b == '?' || b == '>' || b == '<' || b == '=' || (b >= 0x20 && b <= 0x2f)) {
		tt->private_csi = true;
	} else if (b >= 0x40 && b <= 0x7e) {
		tt->state = GROUND;
		if (tt->private_csi)
			return;
		if (tt->input)
			key_input(tt, b, tt->param[0]);
		else
			csi_output(tt, t, b, tt->param[0]);
	} else if (b == 0x1b) {
		tt->state = ESC;
	} else if (b == 0x18 || b == 0x1a) {
		tt->state = GROUND;
	} else if (b < 0x20) {
		control(tt, t, b);
	} else if (b >= 0x80) {
		tt->state = GROUND;
		ground(tt, t, b);
	}
}

static void byte(struct termtext *tt, double t, uint8_t b)
{
	switch (tt->state) {
	case GROUND:
		ground(tt, t, b);
		break;
	case ESC:
		esc(tt, t, b);
		break;
	case ESC_INTER:
		if (b >= 0x30 && b <= 0x7e)
			tt->state = GROUND;
		else if (b == 0x1b)
			tt->state = ESC;
		else if (b == 0x18 || b == 0x1a)
			tt->state = GROUND;
		else if (b < 0x20)
			control(tt, t, b);
		else if (b >= 0x80)
			tt->state = GROUND, ground(tt, t, b);
		break;
	case CSI:
		csi(tt, t, b);
		break;
	case SS:
		tt->state = GROUND;
		if (b < 0x20 || b >= 0x7f)
			byte(tt, t, b);
		else if (tt->input)
			key_input(tt, b, 0);
		break;
	case STR:
		if (b == 0x07 || b == 0x18 || b == 0x1a)
			tt->state = GROUND;
		else if (b == 0x1b)
			tt->state = STR_ESC;
		else if (++tt->strlen_ > TERMTEXT_STRING_MAX)
			tt->state = GROUND;
		break;
	case STR_ESC:
		tt->state = ESC;
		if (b != '\\')
			esc(tt, t, b);
		else
			tt->state = GROUND;
		break;
	}
	tt->cr = b == '\r';
}

void termtext_init(struct termtext *tt, bool input, termtext_line_fn fn, void *userdata)
{
	memset(tt, 0, offsetof(struct termtext, line));
	tt->input = input;
	tt->state = GROUND;
	tt->fn = fn;
	tt->userdata = userdata;
}

int termtext_feed(struct termtext *tt, double t, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && !tt->err) {
		/* most bytes are plain ASCII appended to the line: copy them in runs */
		if (tt->state == GROUND && !tt->npend && tt->cur == tt->len) {
			size_t j = i, room = TERMTEXT_LINE_MAX - tt->len;

			while (j < n && j - i < room && p[j] >= 0x20 && p[j] < 0x7f)
				j++;
			if (j > i) {
				if (!tt->started) {
					tt->started = true;
					tt->t = t;
				}
				memcpy(tt->line + tt->len, p + i, j - i);
				tt->len += j - i;
				tt->cur = tt->len;
				tt->cr = false;
				i = j;
				continue;
			}
		}
		byte(tt, t, p[i++]);
	}
	return tt->err;
}

int termtext_finish(struct termtext *tt)
{
	if (tt->npend) {
		tt->npend = 0;
		put(tt, tt->t, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
	}
	if (tt->len)
		emit(tt, tt->t);
	tt->state = GROUND;
	tt->cur = tt->len = 0;
	tt->started = tt->cr = false;
	return tt->err;
}
