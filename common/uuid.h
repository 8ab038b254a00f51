/* uuid: random identifiers (UUIDv4 session ids, one-time tokens) from getrandom(2).
 * Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define UUID_STR_LEN 37 /* 36 characters and NUL */

/* Fills out with a lowercase 8-4-4-4-12 UUIDv4. 0 or -errno. */
int uuid_v4(char out[UUID_STR_LEN]);
/* Whether s is a lowercase UUID string of exactly 36 characters. */
bool uuid_valid(const char *s);
/* n random bytes as base64url without padding into out (cap >= 4*n/3+2). 0 or -errno. */
int random_token(char *out, size_t cap, size_t n);
