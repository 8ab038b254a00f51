/* shardx1b: the ESC stand-in of event lines (sessrec-shards(5), "Data: d
 * and raw"): the one statement of its rule and the one reader of the "x1b"
 * member, which says that in the line's d every U+241B stands for the byte
 * 0x1b. JSON makes ESC 6 bytes ("\u001b"), the stand-in 3; terminal output
 * is full of ESC, so this is most of what a recording costs beyond its
 * text. The writer is shardline.c's encoder, which escapes ESC as the
 * stand-in as it goes and uses what is here to decide.
 * Convention: lengths; no allocation, no logging. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHARDX1B_CHAR "\xe2\x90\x9b" /* U+241B SYMBOL FOR ESCAPE, in UTF-8 */
#define SHARDX1B_CHAR_LEN 3
#define SHARDX1B_ESC_JSON "\\u001b" /* ESC in a plain line's d */
#define SHARDX1B_ESC_JSON_LEN 6
#define SHARDX1B_SAVES (SHARDX1B_ESC_JSON_LEN - SHARDX1B_CHAR_LEN) /* per ESC */
/* The member, written just before "d": */
#define SHARDX1B_MEMBER "\"x1b\":\"" SHARDX1B_CHAR "\","
#define SHARDX1B_MEMBER_LEN (sizeof(SHARDX1B_MEMBER) - 1)

/* The rule: a line whose d has k ESCs and no real U+241B (a reader could
 * not tell it from a stand-in) is written with the member and the
 * stand-ins exactly when that is shorter, strictly; else the old way.
 * Nothing but d changes: raw, when present, keeps the exact bytes. */
static inline bool shardx1b_pays(size_t k)
{
	return k * SHARDX1B_SAVES > SHARDX1B_MEMBER_LEN;
}

/* The writer's way back: d[0..n), a JSON body with k stand-ins and no real
 * U+241B, gets each stand-in back as "\u001b", in place (d has room for
 * n + k * SHARDX1B_SAVES bytes). Returns the new length. */
size_t shardx1b_unstand(char *d, size_t n, size_t k);

/* The reader's side: d's decoded text p[0..n) of a line with the member,
 * every stand-in turned back into 0x1b in place. Returns the new length. */
size_t shardx1b_expand(uint8_t *p, size_t n);
