/* shardtail: a session's event bytes past an offset of a shard (see
 * shardtail.h). Convention: 0 or -errno. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "shardscan.h"
#include "shardtail.h"

struct tail {
	const char *p, *end;
};

/* Whole lines only: a torn last one is cut off by the resume anyway. */
static int next_line(void *ctx, const char **line, size_t *len)
{
	struct tail *t = ctx;
	const char *nl = t->p < t->end ? memchr(t->p, '\n', (size_t)(t->end - t->p)) : NULL;

	if (!nl)
		return 0;
	*line = t->p;
	*len = (size_t)(nl - t->p);
	t->p = nl + 1;
	return 1;
}

static void corrupt(void *ctx)
{
	(void)ctx; /* not ours to report: sessrecctl does */
}

int shardtail_bytes(int fd, uint64_t off, const char *sid, char ch, uint64_t *n)
{
	struct shardscan sc;
	struct tail t;
	struct stat st;
	size_t len, sid_len = strlen(sid);
	char *buf;
	int r = 0;

	*n = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < off)
		return -ESTALE;
	if ((uint64_t)st.st_size - off > SHARDTAIL_MAX)
		return -EFBIG;
	len = (size_t)((uint64_t)st.st_size - off);
	if (len == 0)
		return 0;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	if (lseek(fd, (off_t)off, SEEK_SET) < 0 || (r = io_read_full(fd, buf, len)) < 0) {
		r = r < 0 ? r : -errno;
		free(buf);
		return r;
	}
	t = (struct tail){ buf, buf + len };
	shardscan_init(&sc, &(struct shardscan_src){ next_line, corrupt, &t });
	sc.quiet = true;
	while (shardscan_next(&sc) == 1) {
		if (sc.l.kind != SHARDREAD_EVENT || sc.l.ch != ch || sc.l.sid_len != sid_len ||
		    memcmp(sc.l.sid, sid, sid_len) != 0)
			continue;
		r = shardscan_take(&sc, SHARDSCAN_BYTES);
		if (r == -EBADMSG) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		/* json-c may have read another kind or sid (a repeated key) */
		if (sc.l.kind == SHARDREAD_EVENT && sc.l.ch == ch && sc.l.sid_len == sid_len &&
		    memcmp(sc.l.sid, sid, sid_len) == 0)
			*n += sc.ndata;
	}
	shardscan_free(&sc);
	free(buf);
	return r;
}
