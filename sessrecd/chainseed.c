/* chainseed: a session's chain recomputed from its shard's tail (see
 * chainseed.h). Convention: 0 or -errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chainseed.h"

#define CHUNK (64u << 10)

enum anchor { A_NONE, A_HDR, A_CHK };

/* What line (no newline) is to session sid: not its (A_NONE with false),
 * its anchor, or another line of it. */
static bool line_of(const char *line, size_t len, const char *sid, size_t sidlen, enum anchor *a)
{
	static const char hdr[] = "\",\"hdr\":";
	const char *obj;
	size_t olen;

	*a = A_NONE;
	if (len < 8 + sidlen + 1 || memcmp(line, "{\"sid\":\"", 8) != 0 || memcmp(line + 8, sid, sidlen) != 0 ||
	    line[8 + sidlen] != '"')
		return false;
	if (chk_line_obj(line, len, &obj, &olen) == 0)
		*a = A_CHK;
	else if (len - 8 - sidlen > sizeof(hdr) && memcmp(line + 8 + sidlen, hdr, sizeof(hdr) - 1) == 0)
		*a = A_HDR;
	return true;
}

/* The whole line at buf[*p] (its length in *l, no newline), *p moved past
 * it; false at the end (a last line without its newline is no line). */
static bool next_line(const char *buf, size_t len, size_t *p, size_t *at, size_t *l)
{
	const char *nl = *p < len ? memchr(buf + *p, '\n', len - *p) : NULL;

	if (!nl)
		return false;
	*at = *p;
	*l = (size_t)(nl - (buf + *p));
	*p += *l + 1;
	return true;
}

/* The offset (in buf) of the session's last anchor among the whole lines
 * of buf[from..len), or -1. */
static ssize_t last_anchor(const char *buf, size_t from, size_t len, const char *sid, size_t sidlen)
{
	ssize_t found = -1;
	enum anchor a;
	size_t p = from, at, l;

	while (next_line(buf, len, &p, &at, &l))
		if (line_of(buf + at, l, sid, sidlen, &a) && a != A_NONE)
			found = (ssize_t)at;
	return found;
}

/* The chain from the anchor at buf[at] over the session's later lines. */
static int step_from(const char *buf, size_t at, size_t len, const char *sid, struct chain_state *out)
{
	size_t sidlen = strlen(sid), p = at, l;
	bool first = true;
	enum anchor a;

	while (next_line(buf, len, &p, &at, &l)) {
		if (line_of(buf + at, l, sid, sidlen, &a)) {
			if (first && a == A_CHK) {
				const char *obj;
				size_t olen;
				struct chk k;

				if (chk_line_obj(buf + at, l, &obj, &olen) < 0 || chk_parse_obj(obj, olen, &k) < 0)
					return -EBADMSG;
				out->n = k.n;
				memcpy(out->h, k.h, CHK_HASH_LEN);
			}
			first = false;
			chk_step(out->h, buf + at, l);
			out->n++;
			out->since = a == A_CHK ? 0 : out->since + l + 1;
		}
	}
	return 0;
}

void chainseed_drop(struct chainseed_cache *cache)
{
	free(cache->buf);
	*cache = (struct chainseed_cache){ 0 };
}

/* The cache holds [off, size) of this very file as it is now, or is
 * emptied. */
static int cache_for(struct chainseed_cache *c, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (c->buf && (c->dev != st.st_dev || c->ino != st.st_ino || c->size != st.st_size))
		chainseed_drop(c);
	if (!c->buf) {
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		c->size = c->off = st.st_size;
		c->blen = 0;
	}
	return 0;
}

/* Reads further back: doubling, so the whole read costs O(tail). */
static int read_back(struct chainseed_cache *c, int fd)
{
	size_t step = c->blen > CHUNK ? c->blen : CHUNK;
	char *nb;
	ssize_t n;

	if ((off_t)step > c->off)
		step = (size_t)c->off;
	if (c->blen + step > CHAINSEED_MAX)
		return -EFBIG;
	if (!(nb = malloc(c->blen + step + 1)))
		return -ENOMEM;
	do
		n = pread(fd, nb, step, c->off - (off_t)step);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)step) {
		free(nb);
		return n < 0 ? -errno : -EIO;
	}
	if (c->blen)
		memcpy(nb + step, c->buf, c->blen);
	free(c->buf);
	c->buf = nb;
	c->blen += step;
	c->off -= (off_t)step;
	return 0;
}

int chainseed_scan(struct chainseed_cache *c, int fd, const char *sid, struct chain_state *out)
{
	size_t sidlen = strlen(sid), done = 0; /* bytes at the end of buf searched already */
	ssize_t at;
	int r;

	if (sidlen > CHAIN_SID_MAX)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->sid, sid, sidlen + 1);
	chk_h0(sid, out->h);
	if ((r = cache_for(c, fd)) < 0)
		return r;
	/* Backwards until an anchor of the session is found; only the part
	 * of the buffer not searched yet is searched each time. */
	for (;;) {
		size_t from = 0, upto = c->blen - done;

		if (c->off > 0) {
			const char *nl = c->blen ? memchr(c->buf, '\n', c->blen) : NULL; /* no buffer yet: NULL */

			from = nl ? (size_t)(nl - c->buf) + 1 : c->blen; /* a line cut by the read's start */
		}
		if (from < upto && (at = last_anchor(c->buf, from, upto, sid, sidlen)) >= 0)
			return step_from(c->buf, (size_t)at, c->blen, sid, out);
		if (c->off == 0)
			return 0; /* no anchor: a fresh chain */
		done = c->blen - from;
		if ((r = read_back(c, fd)) < 0)
			return r;
	}
}
