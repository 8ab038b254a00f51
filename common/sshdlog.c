/* sshdlog: sshd's authentication log lines to struct sshdlog (see
 * sshdlog.h). The line is read from both ends: the fixed words at the
 * start, "IP port N ..." at the end, and the user name is everything in
 * between, so a name with spaces or " from " in it is still one name.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sshdlog.h"

#define STARTS(p, end, lit) ((size_t)((end) - (p)) >= sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/* Undoes sshd's strnvis (VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB) of
 * p[0..n) into out (cap > 0); a NUL stops it. */
static void unvis(char *out, size_t cap, const char *p, size_t n)
{
	static const char cstyle[] = "n\nr\rt\tb\ba\av\vf\fs e\033\\\\";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char c = p[i];

		if (c == '\\' && i + 1 < n) {
			const char *m;

			if (p[i + 1] >= '0' && p[i + 1] <= '7') {
				unsigned v = 0, k = 0;

				while (k < 3 && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '7') {
					v = v * 8 + (unsigned)(p[++i] - '0');
					k++;
				}
				c = (char)(v & 0xff);
			} else if ((m = memchr(cstyle, p[i + 1], sizeof(cstyle) - 1)) && (m - cstyle) % 2 == 0) {
				c = m[1];
				i++;
			}
		}
		if (c == '\0')
			break;
		out[o++] = c;
	}
	out[o] = '\0';
}

static bool copy_word(char *out, size_t cap, const char *p, size_t n)
{
	if (n == 0 || n >= cap || memchr(p, '\0', n))
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* "IP port N" at [p, end) (with_from: " from IP port N"), up to tail (what
 * may follow: " ssh2...", " [preauth]", ""); the IP and port into l, the
 * start of the match in *at. Tries every space from the right, so the user
 * name before it may hold anything. */
static bool tail_addr(const char *start, const char *end, bool with_from, struct sshdlog *l, const char **at,
		      const char **after)
{
	for (const char *s = end - 1; s > start; s--) {
		const char *ip, *ipend, *q, *e;
		long port;

		if (*s != ' ')
			continue;
		ip = s + 1;
		if (with_from) {
			if (!STARTS(ip, end, "from "))
				continue;
			ip += 5;
		}
		ipend = memchr(ip, ' ', (size_t)(end - ip));
		if (!ipend || !STARTS(ipend, end, " port "))
			continue;
		q = ipend + 6;
		if (q >= end || *q < '0' || *q > '9')
			continue;
		/* the message is not NUL-terminated: digits up to end only */
		for (port = 0, e = q; e < end && *e >= '0' && *e <= '9' && port <= 65535; e++)
			port = port * 10 + (*e - '0');
		if (port <= 0 || port > 65535 || !copy_word(l->src_ip, sizeof(l->src_ip), ip, (size_t)(ipend - ip)))
			continue;
		if (strspn(l->src_ip, "0123456789abcdefABCDEF.:%") != strlen(l->src_ip))
			continue;
		l->src_port = (int)port;
		*at = s;
		*after = e;
		return true;
	}
	return false;
}

/* ": TYPE SHA256:..." after "ssh2" (LogLevel VERBOSE and Accepted). */
static void take_key(const char *p, const char *end, struct sshdlog *l)
{
	const char *sp;

	if (!STARTS(p, end, " ssh2: "))
		return;
	p += 7;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp)
		return;
	if (copy_word(l->key_type, sizeof(l->key_type), p, (size_t)(sp - p))) {
		const char *fe = memchr(sp + 1, ' ', (size_t)(end - sp - 1));

		if (!copy_word(l->key_fp, sizeof(l->key_fp), sp + 1, (size_t)((fe ? fe : end) - sp - 1)))
			l->key_type[0] = '\0';
	}
}

/* "Failed METHOD for [invalid user ]U from IP port P ssh2..." and Accepted. */
static int parse_result(const char *p, const char *end, struct sshdlog *l)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p)), *at, *after;

	if (!sp || !copy_word(l->method, sizeof(l->method), p, (size_t)(sp - p)) || !STARTS(sp, end, " for "))
		return -EINVAL;
	p = sp + 5;
	if (l->kind == SSHDLOG_FAILED && STARTS(p, end, "invalid user ")) {
		l->invalid_user = true;
		p += 13;
	}
	if (!tail_addr(p - 1, end, true, l, &at, &after))
		return -EINVAL;
	unvis(l->user, sizeof(l->user), p, (size_t)(at - p));
	take_key(after, end, l);
	return 0;
}

int sshdlog_parse(const char *msg, size_t n, struct sshdlog *l)
{
	static const char *const closers[] = { "Connection closed by ", "Disconnected from ", "Connection reset by " };
	const char *p = msg, *end = msg + n, *at, *after;

	memset(l, 0, sizeof(*l));
	while (end > p && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	if (STARTS(p, end, "Failed ")) {
		l->kind = SSHDLOG_FAILED;
		return parse_result(p + 7, end, l);
	}
	if (STARTS(p, end, "Accepted ")) {
		l->kind = SSHDLOG_ACCEPTED;
		return parse_result(p + 9, end, l);
	}
	if (STARTS(p, end, "Invalid user ")) {
		l->kind = SSHDLOG_INVALID;
		l->invalid_user = true;
		p += 13;
		if (!tail_addr(p - 1, end, true, l, &at, &after))
			return -EINVAL;
		unvis(l->user, sizeof(l->user), p, (size_t)(at - p));
		return 0;
	}
	for (size_t i = 0; i < sizeof(closers) / sizeof(closers[0]); i++) {
		size_t cl = strlen(closers[i]);

		if ((size_t)(end - p) < cl || memcmp(p, closers[i], cl) != 0)
			continue;
		p += cl;
		if (STARTS(p, end, "authenticating user ")) {
			p += 20;
		} else if (STARTS(p, end, "invalid user ")) {
			l->invalid_user = true;
			p += 13;
		} else {
			return -ENOENT; /* "Connection closed by IP port P": no user yet; a logged-in user's end */
		}
		l->kind = SSHDLOG_CLOSED;
		if (!tail_addr(p - 1, end, false, l, &at, &after))
			return -EINVAL;
		unvis(l->user, sizeof(l->user), p, (size_t)(at - p));
		return 0;
	}
	return -ENOENT;
}
