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

int chainseed_scan(int fd, const char *sid, struct chain_state *out)
{
	size_t sidlen = strlen(sid), blen = 0;
	char *buf = NULL;
	struct stat st;
	off_t off;
	int r = 0;

	if (sidlen > CHAIN_SID_MAX)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->sid, sid, sidlen + 1);
	chk_h0(sid, out->h);
	if (fstat(fd, &st) < 0)
		return -errno;
	off = st.st_size;
	/* Backwards, doubling the read each time, until an anchor is found. */
	while (off > 0) {
		size_t step = blen > CHUNK ? blen : CHUNK, from = 0;
		ssize_t at, n;
		char *nb;

		if ((off_t)step > off)
			step = (size_t)off;
		if (blen + step > CHAINSEED_MAX) {
			r = -EFBIG;
			goto out;
		}
		if (!(nb = malloc(blen + step))) {
			r = -ENOMEM;
			goto out;
		}
		off -= (off_t)step;
		do
			n = pread(fd, nb, step, off);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)step) {
			free(nb);
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
		if (blen)
			memcpy(nb + step, buf, blen);
		free(buf);
		buf = nb;
		blen += step;
		if (off > 0) {
			const char *nl = memchr(buf, '\n', blen);

			from = nl ? (size_t)(nl - buf) + 1 : blen; /* a line cut by the read's start */
		}
		if ((at = last_anchor(buf, from, blen, sid, sidlen)) >= 0) {
			r = step_from(buf, (size_t)at, blen, sid, out);
			goto out;
		}
	}
out:
	free(buf);
	return r;
}
