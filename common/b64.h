/* b64: standard base64 (RFC 4648, padded), for the "raw" field of shard lines. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encodes n bytes into out (no NUL added); returns B64_ENCODED_LEN(n).
 * out must hold that many bytes. */
size_t b64_encode(char *out, const uint8_t *in, size_t n);

/* The same for a ++ b, the bytes of two places (a no longer than 3: the
 * encoder's carried bytes, then the read's), without copying b. */
size_t b64_encode_two(char *out, const uint8_t *a, size_t na, const uint8_t *b, size_t nb);

/* Decodes len characters into out (at most len/4*3 bytes); returns the number
 * of bytes or -EINVAL on a malformed input. */
ssize_t b64_decode(uint8_t *out, const char *in, size_t len);
