/* shardlex: the lexer of the JSON the shard writer writes (plain numbers,
 * strings with their escapes), shared by shardread's fast paths; internal
 * to common/. Each gives up (NULL) on anything json-c should judge.
 * Pointers run from p to end; nothing past end is read. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A number 0|[1-9][0-9]*(.[0-9]+)?, fifteen digits at most, into *out (the
 * same double strtod gives); returns the byte after it. */
const char *shardlex_number(const char *p, const char *end, double *out);

/* The body of a string from p (after its opening quote): returns its
 * closing quote, or NULL for raw control characters, unknown or surrogate
 * escapes. *utf8: whether the body is valid UTF-8. */
const char *shardlex_string(const char *p, const char *end, bool *utf8);

/* shardlex_string that also decodes the body into *out, which advances;
 * *out needs the body's length plus 16 bytes of room. */
const char *shardlex_decode(const char *p, const char *end, bool *utf8, uint8_t **out);

/* Decodes n bytes of a body shardlex_string accepted into out (never more
 * than n bytes). Returns the length or -EBADMSG. */
ssize_t shardlex_unescape(const char *s, size_t n, uint8_t *out);
