/* termtext: the one terminal-stream-to-text converter: turns recorded output
 * (or typed input) into the lines a person saw (or typed), escape sequences
 * removed, for text export and search. Streaming, fixed memory, no
 * allocation. Convention: 0 or the callback's negative value. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERMTEXT_LINE_MAX 2048   /* longer lines are cut into several */
#define TERMTEXT_STRING_MAX 8192 /* an OSC/DCS string longer than this ends */

/* Receives each finished line, without its newline, trailing blanks
 * removed; t is when its first character arrived. Valid UTF-8, no control
 * characters but TAB. A negative return stops the feed. */
typedef int (*termtext_line_fn)(void *userdata, double t, const char *line, size_t len);

/*
 * Output (input == false): CSI, OSC, DCS/SOS/PM/APC strings, charset
 * designations, SS2/SS3 and other ESC sequences are removed; "\r\n" and
 * "\n" end a line; a lone "\r" returns to the line's start and later text
 * overwrites, "\b" steps back one character; CSI K, C, D, G, P and @ edit
 * the line as a terminal would; other controls (and C1 controls) vanish;
 * invalid UTF-8 becomes U+FFFD.
 * Input (input == true): the keys of a line editor: "\r" or "\n" ends a
 * line, DEL and "\b" erase the character before the cursor, ^U the line, ^W
 * a word, ^C ends the line, arrows / Home / End / Delete move and erase;
 * other escape sequences (function keys, Alt-) vanish; text is inserted.
 */
struct termtext {
	bool input;
	uint8_t state;
	uint8_t pend[4]; /* a UTF-8 character not complete yet */
	uint8_t npend;
	bool cr;      /* the previous byte was '\r' */
	bool started; /* the current line has a start time */
	double t;
	unsigned nparam; /* CSI parameters seen, first two kept */
	unsigned param[2];
	bool private_csi; /* CSI with a '?', '>', '<' or '=' marker */
	size_t strlen_;   /* bytes swallowed by the current OSC/DCS string */
	int err;          /* the callback's negative return, sticky */
	size_t len, cur;  /* line length and cursor, in bytes */
	termtext_line_fn fn;
	void *userdata;
	char line[TERMTEXT_LINE_MAX]; /* last: init clears only what precedes it */
};

void termtext_init(struct termtext *tt, bool input, termtext_line_fn fn, void *userdata);

/* Feeds n bytes that arrived at time t. */
int termtext_feed(struct termtext *tt, double t, const uint8_t *p, size_t n);

/* Ends the stream: an incomplete character becomes U+FFFD and a line with
 * text in it is emitted. The converter is ready for a new stream after. */
int termtext_finish(struct termtext *tt);
