/* hold: parsing and matching the legal hold list (see hold.h).
 * Convention: 0 or -errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"
#include "io.h"

#define HOLD_FILE_MAX (1 << 20)

static int add(struct hold *h, const char *s, size_t n)
{
	char **v = realloc(h->v, (h->n + 1) * sizeof(*h->v));

	if (!v)
		return -ENOMEM;
	h->v = v;
	if (!(v[h->n] = strndup(s, n)))
		return -ENOMEM;
	h->n++;
	return 0;
}

int hold_add_text(struct hold *h, const char *text)
{
	const char *s = text;
	int r;

	while (*s) {
		size_t n;

		if (*s == '#') {
			s += strcspn(s, "\n");
			continue;
		}
		n = strcspn(s, ", \t\r\n#");
		if (n && (r = add(h, s, n)) < 0)
			return r;
		s += n;
		if (*s && *s != '#')
			s++;
	}
	return 0;
}

int hold_load(struct hold *h, const char *inline_list, const char *path)
{
	char *buf;
	ssize_t n;
	int r;

	if (inline_list && (r = hold_add_text(h, inline_list)) < 0)
		return r;
	if (!path || !*path)
		return 0;
	if (!(buf = malloc(HOLD_FILE_MAX)))
		return -ENOMEM;
	n = io_read_file(path, buf, HOLD_FILE_MAX);
	r = n >= 0 ? hold_add_text(h, buf) : n == -ENOENT ? 0 : (int)n;
	free(buf);
	return r;
}

const char *hold_match(const struct hold *h, const char *sid, size_t sid_len, const char *user)
{
	for (size_t i = 0; i < h->n; i++) {
		const char *e = h->v[i];
		size_t n = strlen(e);

		if ((n == sid_len || (n >= HOLD_PREFIX_MIN && n < sid_len)) && strncmp(e, sid, n) == 0)
			return e;
		if (user && strcmp(e, user) == 0)
			return e;
	}
	return NULL;
}

void hold_free(struct hold *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
	h->v = NULL;
	h->n = 0;
}
