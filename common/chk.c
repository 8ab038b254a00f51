/* chk: the checkpoint member's encoder and strict parser (see chk.h; the
 * format is sessrec-shards(5), "Chains and checkpoints"). Convention:
 * lengths or -errno. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chk.h"

int chk_format_obj(char *out, size_t cap, const struct chk *c)
{
	char h[CHK_HEX_LEN + 1], seal[CHK_HEX_LEN + 1];
	int n;

	chk_hex(h, c->h);
	if (c->sealed) {
		chk_hex(seal, c->seal);
		n = snprintf(out, cap,
			     "{\"n\":%" PRIu64 ",\"h\":\"%s\",\"seal\":\"%s\",\"epoch\":%" PRIu64 ",\"time\":%" PRId64
			     "}",
			     c->n, h, seal, c->epoch, c->time);
	} else {
		n = snprintf(out, cap, "{\"n\":%" PRIu64 ",\"h\":\"%s\",\"time\":%" PRId64 "}", c->n, h, c->time);
	}
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int chk_format_line(char *out, size_t cap, const char *sid, const struct chk *c)
{
	char obj[CHK_MEMBER_MAX];
	int n = chk_format_obj(obj, sizeof(obj), c);

	if (n < 0)
		return n;
	n = snprintf(out, cap, "{\"sid\":\"%s\",\"chk\":%s}\n", sid, obj);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int chk_append(char *out, size_t cap, const char *line, size_t len, const struct chk *c)
{
	char obj[CHK_MEMBER_MAX];
	int n = chk_format_obj(obj, sizeof(obj), c);

	if (n < 0)
		return n;
	if (!len || line[len - 1] != '}')
		return -EINVAL;
	if (len + (size_t)n + 10 > cap)
		return -ENOSPC;
	memcpy(out, line, len - 1);
	n = snprintf(out + len - 1, cap - (len - 1), ",\"chk\":%s}\n", obj);
	return n < 0 ? -ENOSPC : (int)(len - 1) + n;
}

/* Reads literal lit at *p. */
static int lit(const char **p, const char *end, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
		return -EBADMSG;
	*p += n;
	return 0;
}

/* A plain decimal integer (no sign, no leading zero but "0"). */
static int num(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s == end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9'))
		return -EBADMSG;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	*p = s;
	return 0;
}

/* "HEX" of 64 lower-case digits. */
static int hex(const char **p, const char *end, uint8_t b[CHK_HASH_LEN])
{
	if (lit(p, end, "\"") < 0 || end - *p < CHK_HEX_LEN + 1 || chk_unhex(*p, CHK_HEX_LEN, b) < 0)
		return -EBADMSG;
	*p += CHK_HEX_LEN;
	return lit(p, end, "\"");
}

int chk_parse_obj(const char *obj, size_t len, struct chk *c)
{
	const char *p = obj, *end = obj + len;
	uint64_t t;

	memset(c, 0, sizeof(*c));
	if (lit(&p, end, "{\"n\":") < 0 || num(&p, end, &c->n) < 0 || lit(&p, end, ",\"h\":") < 0 ||
	    hex(&p, end, c->h) < 0)
		return -EBADMSG;
	if (lit(&p, end, ",\"seal\":") == 0) {
		if (hex(&p, end, c->seal) < 0 || lit(&p, end, ",\"epoch\":") < 0 || num(&p, end, &c->epoch) < 0)
			return -EBADMSG;
		c->sealed = true;
	}
	if (lit(&p, end, ",\"time\":") < 0 || num(&p, end, &t) < 0 || t > INT64_MAX || lit(&p, end, "}") < 0 ||
	    p != end)
		return -EBADMSG;
	c->time = (int64_t)t;
	return 0;
}

int chk_line_obj(const char *line, size_t len, const char **obj, size_t *olen)
{
	static const char sid[] = "{\"sid\":\"", key[] = "\",\"chk\":{";
	const char *q;

	if (len < sizeof(sid) + sizeof(key) || memcmp(line, sid, sizeof(sid) - 1) != 0 || line[len - 1] != '}')
		return -ENOENT;
	q = memchr(line + sizeof(sid) - 1, '"', len - (sizeof(sid) - 1));
	if (!q || (size_t)(line + len - q) < sizeof(key) || memcmp(q, key, sizeof(key) - 1) != 0)
		return -ENOENT;
	*obj = q + sizeof(key) - 2;
	*olen = (size_t)(line + len - 1 - *obj);
	return 0;
}
