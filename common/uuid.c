/* uuid: UUIDv4 session ids and one-time tokens, straight from getrandom(2)
 * (never a userspace PRNG). Convention: 0 or -errno. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "b64.h"
#include "uuid.h"

#define TOKEN_RAW_MAX 256

static int fill_random(uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int uuid_v4(char out[UUID_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	size_t o = 0;
	int r;

	if ((r = fill_random(b, sizeof(b))) < 0)
		return r;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

bool uuid_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false; /* also stops at an early NUL */
		}
	}
	return s[36] == '\0';
}

int random_token(char *out, size_t cap, size_t n)
{
	uint8_t raw[TOKEN_RAW_MAX];
	char enc[B64_ENCODED_LEN(TOKEN_RAW_MAX)];
	size_t len, need = (4 * n + 2) / 3; /* unpadded base64 length */
	int r;

	if (n == 0 || n > TOKEN_RAW_MAX)
		return -EINVAL;
	if (cap < need + 1)
		return -ENOSPC;
	if ((r = fill_random(raw, n)) < 0)
		return r;
	/* One base64 in the project: take the standard alphabet and map it to
	 * the URL-safe one (RFC 4648 §5), dropping the padding. */
	len = b64_encode(enc, raw, n);
	while (len > 0 && enc[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++)
		out[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
	out[len] = '\0';
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(enc, sizeof(enc));
	return 0;
}
