/* authinfo: SSH_AUTH_INFO_0 to method, key type and SHA256 fingerprint
 * (see authinfo.h). SHA-256 is libsodium's. Convention: 0 / length or
 * -errno. */
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authinfo.h"
#include "b64.h"

#define AUTHINFO_BLOB_MAX 16384 /* an RSA-16384 key is about 2 KiB */

static bool method_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '@' || c == '.' || c == '/';
}

/* The length of the word at p (up to end), stopping at a space. */
static size_t word(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && *q != ' ')
		q++;
	return (size_t)(q - p);
}

int authinfo_fingerprint(const uint8_t *blob, size_t n, char *out, size_t cap)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b[B64_ENCODED_LEN(crypto_hash_sha256_BYTES)];
	size_t len;

	crypto_hash_sha256(h, blob, n);
	len = b64_encode(b, h, sizeof(h));
	while (len && b[len - 1] == '=')
		len--;
	if (cap < 7 + len + 1)
		return -ENOSPC;
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b, len);
	out[7 + len] = '\0';
	return (int)(7 + len);
}

/* The key of a publickey/hostbased line's details ("TYPE BASE64 ..."). */
static void take_key(struct authinfo *ai, const char *p, const char *end)
{
	size_t tl = word(p, end), bl;
	const char *b;
	uint8_t *blob;
	ssize_t n;

	if (tl == 0 || tl >= sizeof(ai->key_type) || p + tl >= end)
		return;
	for (size_t i = 0; i < tl; i++)
		if (!method_char(p[i]))
			return;
	b = p + tl + 1;
	bl = word(b, end);
	if (bl == 0 || bl > B64_ENCODED_LEN(AUTHINFO_BLOB_MAX) || !(blob = malloc(bl / 4 * 3 + 3)))
		return;
	n = b64_decode(blob, b, bl);
	if (n > 0 && authinfo_fingerprint(blob, (size_t)n, ai->key_fp, sizeof(ai->key_fp)) > 0) {
		memcpy(ai->key_type, p, tl);
		ai->key_type[tl] = '\0';
	}
	free(blob);
}

int authinfo_parse(const char *info, size_t n, struct authinfo *ai)
{
	const char *p = info, *end = info + n;
	size_t used = 0;

	memset(ai, 0, sizeof(*ai));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		size_t ml = word(p, le);
		bool ok = ml > 0;

		for (size_t i = 0; i < ml; i++)
			ok = ok && method_char(p[i]);
		if (ok && used + (used ? 1 : 0) + ml < sizeof(ai->method)) {
			if (used)
				ai->method[used++] = ',';
			memcpy(ai->method + used, p, ml);
			used += ml;
			ai->method[used] = '\0';
			if (!ai->key_fp[0] && p + ml < le &&
			    ((ml == 9 && memcmp(p, "publickey", 9) == 0) ||
			     (ml == 9 && memcmp(p, "hostbased", 9) == 0)))
				take_key(ai, p + ml + 1, le);
		}
		p = le + (nl ? 1 : 0);
	}
	return used ? 0 : -EINVAL;
}

int authinfo_summary(const struct authinfo *ai, char *out, size_t cap)
{
	int r;

	if (ai->key_fp[0])
		r = snprintf(out, cap, "%s %s %s", ai->method, ai->key_type, ai->key_fp);
	else
		r = snprintf(out, cap, "%s", ai->method);
	return r < 0 || (size_t)r >= cap ? -ENOSPC : r;
}
