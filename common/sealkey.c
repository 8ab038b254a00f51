/* sealkey: reading and writing escrow key files, base64 or hex (see
 * sealkey.h). Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "sealkey.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int sealkey_parse(const char *text, size_t n, uint8_t out[SEALKEY_BYTES])
{
	uint8_t buf[48];
	ssize_t k;

	while (n > 0 && is_blank(text[n - 1]))
		n--;
	while (n > 0 && is_blank(*text)) {
		text++;
		n--;
	}
	if (n == 2 * SEALKEY_BYTES) {
		for (size_t i = 0; i < SEALKEY_BYTES; i++) {
			int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			out[i] = (uint8_t)(hi << 4 | lo);
		}
		return 0;
	}
	if (n != B64_ENCODED_LEN(SEALKEY_BYTES))
		return -EINVAL;
	k = b64_decode(buf, text, n);
	if (k != SEALKEY_BYTES)
		return -EINVAL;
	memcpy(out, buf, SEALKEY_BYTES);
	return 0;
}

void sealkey_format(const uint8_t key[SEALKEY_BYTES], char out[46])
{
	size_t n = b64_encode(out, key, SEALKEY_BYTES);

	out[n] = '\n';
	out[n + 1] = '\0';
}

int sealkey_read(const char *path, uint8_t out[SEALKEY_BYTES], struct stat *st)
{
	char text[SEALKEY_TEXT_MAX + 1];
	ssize_t n;
	int fd, r;

	/* O_NONBLOCK: a FIFO put there must not hang the reader */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		r = -EPERM;
		goto out;
	}
	do
		n = read(fd, text, sizeof(text));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	if ((size_t)n > SEALKEY_TEXT_MAX) {
		r = -EFBIG;
		goto out;
	}
	r = sealkey_parse(text, (size_t)n, out);
out:
	close(fd);
	return r;
}
