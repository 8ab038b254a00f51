/* escrow: sealing withheld input to the operator's key, piece by piece,
 * into "esc" lines of the session (see escrow.h). The plain text lives in
 * one buffer per session only while a withheld line is being typed, and is
 * wiped as soon as it is sealed. Convention: 0 or -errno. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "escrow.h"
#include "log.h"
#include "recline.h"
#include "shardtrust.h"
#include "state.h"

/* A withheld line on its way to being sealed. */
struct escrow_buf {
	size_t len;
	uint8_t text[SHARD_ESCROW_PIECE];
};

int escrow_load(const char *path, uint8_t pk[SEALKEY_BYTES], bool *on, char *why, size_t whylen)
{
	uint8_t probe[crypto_box_SEALBYTES + 1];
	char dir[PATH_MAX], dwhy[PATH_MAX + 128];
	struct stat st;
	int r;

	*on = false;
	if (!path || !*path)
		return 0;
	if (sodium_init() < 0) {
		snprintf(why, whylen, "EscrowPublicKey=%s: libsodium cannot start", path);
		return -EIO;
	}
	r = sealkey_read(path, pk, &st);
	if (r == -EINVAL || r == -EFBIG) {
		snprintf(why, whylen, "EscrowPublicKey=%s: holds no key (expected one line of base64 or hex, 32 bytes)",
			 path);
		return -EINVAL;
	}
	if (r == -ELOOP) {
		snprintf(why, whylen, "EscrowPublicKey=%s: is a symbolic link; name the file itself", path);
		return -EPERM;
	}
	if (r < 0 && r != -EPERM) {
		snprintf(why, whylen, "EscrowPublicKey=%s: %s", path, strerror(-r));
		return r;
	}
	if (r == -EPERM || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(
			why, whylen,
			"EscrowPublicKey=%s: not trusted: must be a regular file owned by root, not group/other-writable (uid %u, mode %04o)",
			path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((r = shardtrust_dir(dirname(dir), dwhy, sizeof(dwhy))) < 0) {
		snprintf(why, whylen, "EscrowPublicKey=%s: %s", path, dwhy);
		return r;
	}
	/* A key libsodium refuses (a low-order point) is refused here, once,
	 * rather than at every withheld line. */
	if (crypto_box_seal(probe, (const uint8_t *)"x", 1, pk) != 0) {
		snprintf(why, whylen, "EscrowPublicKey=%s: not a usable X25519 public key", path);
		return -EINVAL;
	}
	*on = true;
	return 0;
}

/* Seals the buffered text as one piece and queues its line. */
static void seal_piece(struct recording *rec, bool more)
{
	struct escrow_buf *b = rec->escrow;
	uint8_t sealed[SHARD_ESCROW_SEALED_MAX];
	char line[SHARD_LINE_MAX];
	int n;

	if (!b->len)
		return;
	if (rec->file && !rec->st->failed && crypto_box_seal(sealed, b->text, b->len, rec->d->escrow_pk) == 0) {
		n = shard_format_escrow(line, sizeof(line), rec->st->sid, recline_elapsed(rec), sealed,
					b->len + crypto_box_SEALBYTES, more);
		if (n > 0)
			recline_put(rec, line, (size_t)n, false);
	}
	sodium_memzero(b->text, b->len);
	b->len = 0;
}

void escrow_add(struct recording *rec, const uint8_t *p, size_t n)
{
	struct escrow_buf *b = rec->escrow;

	if (!rec->d->escrow_on || !rec->file || rec->st->failed)
		return;
	if (!b) {
		if (!(b = calloc(1, sizeof(*b)))) {
			log_line("session %s: out of memory: a withheld line is not escrowed", rec->st->sid);
			return;
		}
		rec->escrow = b;
	}
	while (n > 0) {
		size_t k;

		/* A full piece is sealed once more of its line comes, so the
		 * last piece of a line is the one without "more". */
		if (b->len == sizeof(b->text))
			seal_piece(rec, true);
		k = sizeof(b->text) - b->len < n ? sizeof(b->text) - b->len : n;
		memcpy(b->text + b->len, p, k);
		b->len += k;
		p += k;
		n -= k;
	}
}

void escrow_flush(struct recording *rec)
{
	if (!rec->escrow)
		return;
	seal_piece(rec, false);
	escrow_drop(rec);
}

void escrow_drop(struct recording *rec)
{
	if (!rec->escrow)
		return;
	sodium_memzero(rec->escrow, sizeof(*rec->escrow));
	free(rec->escrow);
	rec->escrow = NULL;
}
