/* utf8: the one UTF-8 decoder (validation, U+FFFD replacement by the Unicode
 * "maximal subpart" rule), for shard readers and the terminal text stripper.
 * No allocation, no locale. Convention: lengths, never errors (utf8_seq
 * flags invalid input by its sign, as stated above it). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd"
#define UTF8_REPLACEMENT_LEN 3

/* Classifies the bytes at p[0..n), n > 0. Returns the length (1-4) of the
 * complete valid character there; 0 when p[0..n) is a valid but incomplete
 * start (more bytes could complete it); -k when the first k bytes (k >= 1)
 * are an invalid maximal subpart, to be replaced by one U+FFFD. */
int utf8_seq(const uint8_t *p, size_t n);

/* Length of the longest prefix of p[0..n) made of complete valid characters;
 * n when all of it is valid. */
size_t utf8_valid_len(const uint8_t *p, size_t n);

/* How much of p[0..n) fits in max bytes without cutting a character: n
 * when n <= max, else max less the continuation bytes that would start the
 * rest (a clip for the fixed fields of requests and state). */
size_t utf8_clip(const uint8_t *p, size_t n, size_t max);

/* Copies p[0..n) to out, each invalid maximal subpart and an incomplete tail
 * replaced by U+FFFD. out must hold 3 * n bytes. Returns the output length. */
size_t utf8_sanitize(uint8_t *out, const uint8_t *p, size_t n);
