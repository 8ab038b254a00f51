/* shardx1b: the ESC stand-in of event lines (sessrec-shards(5), "Data: d
 * and raw"): the one writer and the one reader of the "x1b" member, which
 * says that in the line's d every U+241B stands for the byte 0x1b. JSON
 * makes ESC 6 bytes ("\u001b"), the stand-in 3; terminal output is full of
 * ESC, so this is most of what a recording costs beyond its text.
 * Convention: lengths; no allocation, no logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SHARDX1B_CHAR "\xe2\x90\x9b" /* U+241B SYMBOL FOR ESCAPE, in UTF-8 */
#define SHARDX1B_CHAR_LEN 3
/* The member, written just before "d": */
#define SHARDX1B_MEMBER "\"x1b\":\"" SHARDX1B_CHAR "\","
#define SHARDX1B_MEMBER_LEN (sizeof(SHARDX1B_MEMBER) - 1)

/* The writer's side. line[0..len) is an event line as shardline.c writes
 * it, whose d body (JSON-escaped) is line[d_at..d_at + d_len) and whose
 * "d" key ends at d_at ({..."ch":"o","d":"BODY"...}). When the line
 * with the stand-in is shorter (enough ESCs to pay for the member) and d
 * holds no real U+241B (then a reader could not tell them apart), writes
 * that line to out and returns its length; else returns 0 and the line
 * stays as it is (out was scribbled on). Nothing but d changes: raw, when
 * present, keeps the exact bytes. cap >= SHARDX1B_ROOM(len): the copy
 * moves 16 bytes at a time. */
#define SHARDX1B_ROOM(len) ((len) + SHARDX1B_MEMBER_LEN + 32)
size_t shardx1b_line(char *out, size_t cap, const char *line, size_t len, size_t d_at, size_t d_len);

/* The reader's side: d's decoded text p[0..n) of a line with the member,
 * every stand-in turned back into 0x1b in place. Returns the new length. */
size_t shardx1b_expand(uint8_t *p, size_t n);
