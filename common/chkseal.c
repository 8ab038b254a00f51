/* chkseal: hash chains, seals and evolving keys (see chkseal.h; the format
 * is sessrec-shards(5)). The chain's SHA-256 runs on every recorded byte:
 * it is OpenSSL's (SHA-NI where the CPU has it; about 16 times libsodium
 * 1.0.18's portable code here). HMAC-SHA256, randomness and wiping are
 * libsodium's. Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chkseal.h"

#define CHAIN_TAG "sessrec-chain-v1"
#define SEAL_TAG "sessrec-seal-v1"
#define EVOLVE_TAG "sessrec-evolve"
#define KEY_TAG "sessrec-seal-key v1"

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256;     /* fetched once: an implicit fetch per digest costs a lock */
static pthread_key_t ctx_key; /* a digest context per thread, freed with the thread */
static bool ctx_key_ok;

static void ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx_key_ok = pthread_key_create(&ctx_key, ctx_free) == 0;
}

int chk_init(void)
{
	pthread_once(&md_once, md_fetch);
	return sodium_init() < 0 || !md_sha256 ? -EIO : 0;
}

/* out = SHA256(a || b); one context per thread (the writer thread and the
 * loop take turns, sessrecctl has one). A failure leaves out zeroed: the
 * chain then breaks where it happened, it is never faked. */
static void sha256_2(uint8_t out[CHK_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t r[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	pthread_once(&md_once, md_fetch);
	if (ctx_key_ok && !(ctx = pthread_getspecific(ctx_key)) && (ctx = EVP_MD_CTX_new()) &&
	    pthread_setspecific(ctx_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	if (!ctx || !md_sha256 || !EVP_DigestInit_ex2(ctx, md_sha256, NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
	    !EVP_DigestUpdate(ctx, b, blen) || !EVP_DigestFinal_ex(ctx, r, &n) || n != CHK_HASH_LEN) {
		memset(out, 0, CHK_HASH_LEN);
		return;
	}
	memcpy(out, r, CHK_HASH_LEN);
}

void chk_h0(const char *sid, uint8_t h[CHK_HASH_LEN])
{
	sha256_2(h, CHAIN_TAG, strlen(CHAIN_TAG), sid, strlen(sid));
}

void chk_step(uint8_t h[CHK_HASH_LEN], const char *line, size_t len)
{
	uint8_t prev[CHK_HASH_LEN];

	memcpy(prev, h, CHK_HASH_LEN);
	sha256_2(h, prev, CHK_HASH_LEN, line, len);
}

/* An end line's checkpoint is its last member, ,"chk":{...}} with no brace
 * inside the object (only numbers and hex); a checkpoint line's follows
 * its sid at once and the line is hashed whole. */
bool chk_line_input(const char *line, size_t len, char *buf, size_t cap, const char **in, size_t *inlen,
		    const char **chk_obj, size_t *chk_len)
{
	static const char key[] = ",\"chk\":{", sid[] = "{\"sid\":\"";
	const size_t klen = sizeof(key) - 1;
	const char *q;
	size_t open, at;

	*in = line;
	*inlen = len;
	if (len < sizeof(sid) + klen + 2 || line[len - 1] != '}' || line[len - 2] != '}' ||
	    memcmp(line, sid, sizeof(sid) - 1) != 0)
		return false;
	if (!(q = memchr(line + sizeof(sid) - 1, '"', len - (sizeof(sid) - 1))))
		return false;
	for (open = len - 3; open > 0 && line[open] != '{' && line[open] != '}'; open--)
		;
	if (line[open] != '{' || open + 1 < klen)
		return false;
	at = open + 1 - klen;
	if (memcmp(line + at, key, klen) != 0 || at <= (size_t)(q - line) + 1 || cap < at + 1)
		return false;
	*chk_obj = line + open;
	*chk_len = len - 1 - open;
	memcpy(buf, line, at);
	buf[at] = '}';
	*in = buf;
	*inlen = at + 1;
	return true;
}

static int seal_msg(char *msg, size_t cap, const char *sid, const struct chk *c)
{
	char hex[CHK_HEX_LEN + 1];

	chk_hex(hex, c->h);
	return snprintf(msg, cap, SEAL_TAG " %s %" PRIu64 " %s %" PRIu64 " %" PRId64, sid, c->n, hex, c->epoch,
			c->time);
}

void chk_seal(const struct chk_key *k, const char *sid, struct chk *c)
{
	char msg[256];
	int n = seal_msg(msg, sizeof(msg), sid, c);

	crypto_auth_hmacsha256(c->seal, (const unsigned char *)msg, (size_t)n, k->k);
	c->sealed = true;
}

bool chk_seal_ok(const struct chk_key *k, const char *sid, const struct chk *c)
{
	char msg[256];
	int n = seal_msg(msg, sizeof(msg), sid, c);

	return c->sealed && crypto_auth_hmacsha256_verify(c->seal, (const unsigned char *)msg, (size_t)n, k->k) == 0;
}

void chk_key_evolve(struct chk_key *k)
{
	uint8_t next[CHK_HASH_LEN];

	crypto_auth_hmacsha256(next, (const unsigned char *)EVOLVE_TAG, strlen(EVOLVE_TAG), k->k);
	memcpy(k->k, next, sizeof(next));
	sodium_memzero(next, sizeof(next));
	k->epoch++;
}

int chk_key_to(struct chk_key *k, uint64_t epoch)
{
	if (epoch < k->epoch)
		return -ESTALE;
	while (k->epoch < epoch)
		chk_key_evolve(k);
	return 0;
}

uint64_t chk_key_epoch_at(const struct chk_key *k, int64_t t)
{
	if (t <= k->start || !k->len)
		return 0;
	return (uint64_t)(t - k->start) / k->len;
}

void chk_hex(char out[CHK_HEX_LEN + 1], const uint8_t b[CHK_HASH_LEN])
{
	sodium_bin2hex(out, CHK_HEX_LEN + 1, b, CHK_HASH_LEN);
}

int chk_unhex(const char *hex, size_t len, uint8_t b[CHK_HASH_LEN])
{
	size_t got = 0;

	if (len != CHK_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return -EINVAL;
	if (sodium_hex2bin(b, CHK_HASH_LEN, hex, len, NULL, &got, NULL) != 0 || got != CHK_HASH_LEN)
		return -EINVAL;
	return 0;
}

int chk_key_format(char *out, size_t cap, const struct chk_key *k)
{
	char hex[CHK_HEX_LEN + 1];
	int n;

	chk_hex(hex, k->k);
	n = snprintf(out, cap, KEY_TAG " %" PRId64 " %u %010" PRIu64 " %s\n", k->start, k->len, k->epoch, hex);
	sodium_memzero(hex, sizeof(hex));
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* Copies text (at most CHK_KEY_TEXT_MAX) NUL-terminated into buf. */
static int take_text(char *buf, const char *text, size_t len)
{
	if (len >= CHK_KEY_TEXT_MAX)
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return 0;
}

int chk_key_parse(const char *text, size_t len, struct chk_key *k)
{
	char buf[CHK_KEY_TEXT_MAX], hex[CHK_HEX_LEN + 2], tail;
	int64_t start;
	unsigned elen;
	uint64_t epoch;
	int r = -EINVAL;

	if (take_text(buf, text, len) < 0)
		return -EINVAL;
	if (sscanf(buf, KEY_TAG " %" SCNd64 " %u %" SCNu64 " %65s%c", &start, &elen, &epoch, hex, &tail) == 5 &&
	    tail == '\n' && strlen(hex) == CHK_HEX_LEN && elen > 0 && start > 0 &&
	    chk_unhex(hex, CHK_HEX_LEN, k->k) == 0) {
		k->start = start;
		k->len = elen;
		k->epoch = epoch;
		r = 0;
	}
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(hex, sizeof(hex));
	return r;
}

int chk_vkey_format(char *out, size_t cap, const struct chk_key *k0)
{
	char hex[CHK_HEX_LEN + 1];
	int n;

	chk_hex(hex, k0->k);
	n = snprintf(out, cap, "%s/%" PRId64 "/%u", hex, k0->start, k0->len);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int chk_vkey_parse(const char *text, size_t len, struct chk_key *k0)
{
	char buf[CHK_KEY_TEXT_MAX], *p, *end;
	unsigned long long start, elen;

	while (len && (text[0] == ' ' || text[0] == '\t' || text[0] == '\n'))
		text++, len--;
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n'))
		len--;
	if (take_text(buf, text, len) < 0 || len < CHK_HEX_LEN + 4 || buf[CHK_HEX_LEN] != '/' ||
	    chk_unhex(buf, CHK_HEX_LEN, k0->k) < 0)
		return -EINVAL;
	p = buf + CHK_HEX_LEN + 1;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	start = strtoull(p, &end, 10);
	if (errno || *end != '/' || end[1] < '0' || end[1] > '9' || start == 0 || start > INT64_MAX)
		return -EINVAL;
	elen = strtoull(end + 1, &p, 10);
	if (errno || *p || elen == 0 || elen > UINT32_MAX)
		return -EINVAL;
	k0->start = (int64_t)start;
	k0->len = (uint32_t)elen;
	k0->epoch = 0;
	return 0;
}

/* The key file is rewritten in place, one write of under a sector at
 * offset 0 (the epoch has a fixed width, so the length never changes):
 * the old key's bytes are overwritten, not left in a freed block as a
 * rename would leave them, and a sector write lands whole. */
int chk_key_save(const char *path, const struct chk_key *k, bool create)
{
	char text[CHK_KEY_TEXT_MAX];
	int fd, n, r = 0;
	ssize_t w;

	if ((n = chk_key_format(text, sizeof(text), k)) < 0)
		return n;
	fd = create ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)
		    : open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	do
		w = pwrite(fd, text, (size_t)n, 0);
	while (w < 0 && errno == EINTR);
	if (w != n)
		r = w < 0 ? -errno : -EIO;
	else if (ftruncate(fd, n) < 0 || fdatasync(fd) < 0)
		r = -errno;
	close(fd);
out:
	sodium_memzero(text, sizeof(text));
	return r;
}

/* Root's key: a regular file of root's, 0600 or stricter, one link. */
int chk_key_load(const char *path, struct chk_key *k)
{
	char text[CHK_KEY_TEXT_MAX];
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) || st.st_nlink != 1) {
		r = -EPERM;
		goto out;
	}
	do
		n = pread(fd, text, sizeof(text), 0);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : chk_key_parse(text, (size_t)n, k);
out:
	close(fd);
	sodium_memzero(text, sizeof(text));
	return r;
}
