/* termquery: the recording must not talk to the operator's terminal through
 * `play`. Two parsers: one takes out of the replayed output what makes a
 * terminal answer or act outside its screen (report requests, clipboard
 * writes, key programming, pass-through to an outer terminal); the other
 * tells the answers a terminal sends (CSI, SS3, DCS, OSC, APC replies) from
 * the keys a person types. sessrecctl(1) lists what is filtered.
 * Convention: lengths, never errors. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest sequence held while it is undecided; a longer one is decided
 * on what it starts with (a clipboard write is dropped whatever its size). */
#define TERMQUERY_HOLD 1024

struct termquery_filter {
	int state;
	int mode;      /* the sequence is held, or (too long to hold) dropped or passed to its end */
	bool c2;       /* the last byte was 0xc2: a C1 control (or in a string, ST) may follow */
	unsigned cont; /* UTF-8 continuation bytes still due (raw C1 is not one) */
	char kind;     /* the sequence: '[' CSI, ']' OSC, 'P' DCS, '_' APC, '^' PM, 'X' SOS, 0 ESC */
	size_t body;   /* where its body starts in buf (after ESC [, C2 9B or 9B) */
	uint8_t buf[TERMQUERY_HOLD];
	size_t len;
	unsigned long dropped; /* sequences taken out so far */
};

void termquery_filter_init(struct termquery_filter *f);

/* Filters n bytes of output into out, which has room for 2 * n +
 * TERMQUERY_HOLD bytes; returns the bytes written. A sequence split across
 * calls is held until it is complete. */
size_t termquery_filter(struct termquery_filter *f, const uint8_t *in, size_t n, uint8_t *out);

/* The stream ended: a sequence held unfinished is dropped; when a long
 * string was being passed, out gets a CAN that ends it; a 0xc2 held in
 * case a C1 control followed is written. Returns the bytes written (0 or
 * 1). */
size_t termquery_filter_end(struct termquery_filter *f, uint8_t *out);

struct termquery_keys {
	int state;
	size_t len; /* bytes of the answer being skipped */
};

void termquery_keys_init(struct termquery_keys *k);

/* Copies to out (room for n bytes) the bytes of in that were typed: escape
 * sequences (a terminal's answers, and cursor keys, which play does not
 * use) and 8-bit bytes are skipped, also across calls. Ctrl-C (0x03) is
 * always kept and ends any sequence. Returns the bytes written. */
size_t termquery_keys(struct termquery_keys *k, const uint8_t *in, size_t n, uint8_t *out);
